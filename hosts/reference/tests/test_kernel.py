"""The plugin kernel (KRN, kernel.py): loading, injection by name, the envelope, threads, shutdown.

Plugin modules are written into a temp kernel root the test owns; the kernel's loop and pool are shut
down at the end of every test.
"""

from __future__ import annotations

import json
import os
import textwrap
import threading
import time
import urllib.error
import urllib.request

from distcheck_host.events import EventLog
from distcheck_host.kernel import DEPENDENCIES, Kernel, envelope_of
from distcheck_host.routes import RESERVED_PREFIXES, match_host_route

from .helpers import TempDirTest, config

GOOD = '''
import asyncio, threading
from distcheck_host.kernel import BasePlugin


class Kinds(BasePlugin):
    # Declared out of the canonical order: injection is by name, not position.
    def __init__(self, event_bus, logger, http, db):
        self.bus, self.log, self.http, self.db = event_bus, logger, http, db
        self.seen = []

    async def on_boot(self):
        self.http.add_endpoint(path="/good/async", method="POST", handler=self.echo, tags=["x"], response_model=None)
        self.http.add_endpoint("/good/sync", "GET", self.sync_echo)
        self.http.add_endpoint("/good/raise", "GET", self.boom)
        self.http.add_endpoint("/good/status", "POST", self.created)
        self.http.add_endpoint("/good/raise-status", "GET", self.teapot)
        self.http.add_endpoint("/good/failure", "GET", self.handled)
        self.http.add_endpoint("/good/db", "POST", self.store)
        self.http.add_endpoint("/good/publish", "POST", self.publish)
        self.http.add_endpoint("/good/seen", "GET", self.show_seen)
        self.http.add_endpoint("/good/one-arg", "GET", lambda data: {"only": data})
        self.http.add_endpoint("/good/nan", "GET", lambda data, context: float("nan"))
        self.bus.subscribe("orders", self.on_order)

    async def echo(self, data, context=None):
        return {"success": True, "data": {"got": data, "thread": threading.current_thread().name,
                "kinds": {"event_bus": type(self.bus).__name__, "logger": self.log.name,
                          "http": type(self.http).__name__, "db": type(self.db).__name__}}, "error": None}

    def sync_echo(self, data, context):
        return {"got": data, "thread": threading.current_thread().name}

    def boom(self, data, context):
        raise ValueError("no such product")

    async def created(self, data, context):
        context.set_status(201)
        return data

    def teapot(self, data, context):
        context.set_status(418)
        raise RuntimeError("short and stout")

    def handled(self, data, context):
        return {"success": False, "error": "handled"}

    async def store(self, data, context):
        await self.db.execute("CREATE TABLE IF NOT EXISTS items (id INTEGER PRIMARY KEY, value TEXT)")
        rowid = await self.db.execute("INSERT INTO items (value) VALUES ($1)", [data["value"]])
        rows = await self.db.execute("SELECT value FROM items ORDER BY id")
        return {"rowid": rowid, "rows": rows, "thread": threading.current_thread().name}

    async def publish(self, data, context):
        delivered = await self.bus.publish("orders", data)
        return {"delivered": delivered}

    def on_order(self, payload):
        self.seen.append([payload, threading.current_thread().name])

    def show_seen(self, data, context):
        return self.seen
'''

UNKNOWN = '''
from distcheck_host.kernel import BasePlugin

class NeedsCache(BasePlugin):
    def __init__(self, db, cache):
        pass
'''

CTOR = '''
from distcheck_host.kernel import BasePlugin

class CtorRaises(BasePlugin):
    def __init__(self, logger):
        raise RuntimeError("constructor exploded")
'''

BOOT = '''
from distcheck_host.kernel import BasePlugin

class BootRaises(BasePlugin):
    def __init__(self, http, event_bus):
        self.http, self.bus = http, event_bus

    def on_boot(self):
        self.http.add_endpoint("/boot/half", "GET", lambda data, context: "half")
        self.bus.subscribe("orders", lambda payload: None)
        raise LookupError("on_boot gave up")
'''

IMPORT = '''
import distcheck_no_such_module_for_kernel_tests
'''

LATER = '''
from distcheck_host.kernel import BasePlugin
from domains.alpha.plugins.b_ctor import CtorRaises  # imported: not a plugin of this module


class Later(BasePlugin):
    def __init__(self, http, optional=7):
        self.http, self.optional = http, optional

    def on_boot(self):
        self.http.add_endpoint("/later", "GET", self.answer)

    def answer(self, data, context):
        return {"optional": self.optional, "query": data}
'''


class KernelTestCase(TempDirTest):
    def setUp(self) -> None:
        super().setUp()
        self.root = self.path("kernel")
        self.events = EventLog()
        self.kernel: Kernel | None = None

    def tearDown(self) -> None:
        if self.kernel is not None:
            self.kernel.shutdown(2.0)
        super().tearDown()

    def write(self, domain: str, name: str, text: str) -> None:
        folder = os.path.join(self.root, "domains", domain, "plugins")
        os.makedirs(folder, exist_ok=True)
        with open(os.path.join(folder, name), "w", encoding="utf-8") as handle:
            handle.write(textwrap.dedent(text))

    def boot(self) -> list[dict]:
        self.kernel = Kernel(config(kernel_root=self.root, data_dir=self.path("data")), self.events)
        return self.kernel.boot()

    def call(self, method: str, path: str, body=None, query: str = "") -> tuple[int, dict]:
        raw = b"" if body is None else json.dumps(body).encode()
        status, answer = self.kernel.dispatch(method, path, query, {}, lambda: raw)
        return status, json.loads(answer)

    def standard_root(self) -> None:
        self.write("alpha", "a_unknown.py", UNKNOWN)
        self.write("alpha", "b_ctor.py", CTOR)
        self.write("alpha", "c_boot.py", BOOT)
        self.write("alpha", "d_import.py", IMPORT)
        self.write("alpha", "_private.py", "raise SystemExit('never imported')")
        self.write("beta", "good.py", GOOD)
        self.write("zeta", "later.py", LATER)


class Loading(KernelTestCase):
    def test_no_root_means_no_plugins_and_no_threads(self):
        self.assertEqual(self.boot(), [])
        self.assertEqual(self.kernel.plugins_json(), [])
        self.assertIsNone(self.kernel.loop)
        self.assertEqual(self.call("GET", "/anything")[0], 404)

    def test_each_broken_plugin_fails_alone_with_its_diagnostic(self):
        self.standard_root()
        diagnostics = self.boot()
        by_code = {d["code"]: d for d in diagnostics}
        self.assertEqual(sorted(by_code), ["kernel_boot_failed", "kernel_module_failed", "kernel_plugin_failed",
                                           "kernel_unknown_dependency"])
        unknown = by_code["kernel_unknown_dependency"]
        self.assertEqual(unknown["extension_id"], "NeedsCache")
        for name in ("'cache'", "NeedsCache", *DEPENDENCIES):
            self.assertIn(name, unknown["message"])
        self.assertIn("RuntimeError: constructor exploded", by_code["kernel_plugin_failed"]["message"])
        self.assertIn("LookupError: on_boot gave up", by_code["kernel_boot_failed"]["message"])
        module = by_code["kernel_module_failed"]
        self.assertIsNone(module["extension_id"])
        self.assertIn("domains/alpha/plugins/d_import.py", module["message"])
        self.assertIn("ModuleNotFoundError", module["message"])
        listed = {p["name"]: p for p in self.kernel.plugins_json()}
        # Load order: sorted by domain, then file; the broken ones came first and stopped nothing.
        self.assertEqual(list(listed), ["NeedsCache", "CtorRaises", "BootRaises", "Kinds", "Later"])
        self.assertEqual({n: p["state"] for n, p in listed.items()},
                         {"NeedsCache": "failed", "CtorRaises": "failed", "BootRaises": "failed", "Kinds": "booted",
                          "Later": "booted"})
        self.assertEqual(listed["Kinds"]["module"], "domains.beta.plugins.good")
        self.assertEqual(listed["Kinds"]["domain"], "beta")
        self.assertEqual(listed["Kinds"]["dependencies"], ["event_bus", "logger", "http", "db"])
        self.assertEqual(listed["Later"]["dependencies"], ["http"])
        self.assertIn({"method": "POST", "path": "/good/async", "mode": "async"}, listed["Kinds"]["endpoints"])
        self.assertIn({"method": "GET", "path": "/good/sync", "mode": "sync"}, listed["Kinds"]["endpoints"])
        self.assertEqual(listed["BootRaises"]["endpoints"], [])
        self.assertIn("LookupError", listed["BootRaises"]["error"])

    def test_injection_is_by_name_and_a_default_is_kept(self):
        self.standard_root()
        self.boot()
        status, answer = self.call("POST", "/good/async", {"q": 1})
        self.assertEqual(status, 200)
        self.assertEqual(answer["data"]["kinds"], {"event_bus": "PluginEventBus", "logger": "kernel.Kinds",
                                                   "http": "PluginHttp", "db": "KernelDb"})
        self.assertEqual(self.call("GET", "/later", query="a=1&b=")[1]["data"], {"optional": 7, "query": {"a": "1", "b": ""}})

    def test_a_failed_on_boot_leaves_no_endpoint_and_no_subscription(self):
        self.standard_root()
        self.boot()
        status, answer = self.call("GET", "/boot/half")
        self.assertEqual(status, 404)
        self.assertFalse(answer["success"])
        self.assertEqual(self.call("POST", "/good/publish", {"n": 1})[1]["data"], {"delivered": 1})


class Envelope(KernelTestCase):
    def setUp(self) -> None:
        super().setUp()
        self.write("beta", "good.py", GOOD)
        self.boot()

    def test_a_returned_envelope_is_answered_as_is_and_runs_on_the_loop(self):
        status, answer = self.call("POST", "/good/async", {"q": 1})
        self.assertEqual(status, 200)
        self.assertEqual(set(answer), {"success", "data", "error"})
        self.assertEqual((answer["success"], answer["error"], answer["data"]["got"]), (True, None, {"q": 1}))
        self.assertEqual(answer["data"]["thread"], "kernel-loop")

    def test_a_bare_value_is_wrapped_and_a_sync_handler_runs_in_the_pool(self):
        status, answer = self.call("GET", "/good/sync", query="x=1")
        self.assertEqual(status, 200)
        self.assertEqual((answer["success"], answer["error"], answer["data"]["got"]), (True, None, {"x": "1"}))
        self.assertRegex(answer["data"]["thread"], r"^kernel-pool-\d+$")
        self.assertNotEqual(answer["data"]["thread"], threading.current_thread().name)

    def test_an_exception_is_the_envelope_error_with_status_200(self):
        self.assertEqual(self.call("GET", "/good/raise"),
                         (200, {"success": False, "data": None, "error": "ValueError: no such product"}))
        # The kernel still serves.
        self.assertEqual(self.call("GET", "/good/sync")[0], 200)

    def test_set_status_applies_to_answers_and_errors(self):
        self.assertEqual(self.call("POST", "/good/status", {"a": 1}), (201, {"success": True, "data": {"a": 1}, "error": None}))
        self.assertEqual(self.call("GET", "/good/raise-status"),
                         (418, {"success": False, "data": None, "error": "RuntimeError: short and stout"}))

    def test_a_failure_envelope_is_completed_and_other_shapes_are_data(self):
        self.assertEqual(self.call("GET", "/good/failure"), (200, {"success": False, "data": None, "error": "handled"}))
        self.assertEqual(envelope_of({"success": True, "extra": 1}), {"success": True, "data": {"success": True, "extra": 1}, "error": None})
        self.assertEqual(envelope_of(None), {"success": True, "data": None, "error": None})

    def test_a_handler_taking_only_data_is_called_with_data(self):
        self.assertEqual(self.call("GET", "/good/one-arg", query="k=v")[1]["data"], {"only": {"k": "v"}})

    def test_an_answer_that_is_not_json_is_an_error_envelope(self):
        status, answer = self.call("GET", "/good/nan")
        self.assertEqual((status, answer["success"]), (200, False))
        self.assertTrue(answer["error"].startswith("ValueError: "))

    def test_the_kernels_own_refusals_are_envelopes_too(self):
        self.assertEqual(self.call("GET", "/nope")[0], 404)
        status, answer = self.call("DELETE", "/good/sync")
        self.assertEqual((status, answer["success"]), (405, False))
        self.assertTrue(answer["error"].startswith("method_not_allowed: "))
        status, answer = self.kernel.dispatch("POST", "/good/status", "", {}, lambda: b"{not json")
        self.assertEqual((status, json.loads(answer)["error"][:12]), (400, "bad_request:"))

    def test_db_event_bus_and_kernel_event(self):
        status, answer = self.call("POST", "/good/db", {"value": "first"})
        self.assertEqual(status, 200, answer)
        self.assertEqual((answer["data"]["rowid"], answer["data"]["rows"]), (1, [{"value": "first"}]))
        self.assertTrue(os.path.exists(self.path("data", "kernel.sqlite3")))
        self.assertEqual(self.call("POST", "/good/publish", {"order": 7})[1]["data"], {"delivered": 1})
        seen = self.call("GET", "/good/seen")[1]["data"]
        self.assertEqual(len(seen), 1)
        self.assertEqual(seen[0][0], {"order": 7})
        self.assertRegex(seen[0][1], r"^kernel-pool-\d+$")  # a sync subscriber runs in the pool
        events = [e for e in self.events.snapshot() if e["event"] == "kernel_event"]
        self.assertEqual(len(events), 1)
        self.assertEqual({k: events[0][k] for k in ("topic", "publisher", "subscribers", "delivered", "payload")},
                         {"topic": "orders", "publisher": "Kinds", "subscribers": 1, "delivered": 1, "payload": {"order": 7}})


class Shutdown(KernelTestCase):
    def test_loop_and_pool_stop_within_the_bound_even_with_a_handler_running(self):
        self.write("beta", "slow.py", '''
            import asyncio, time
            from distcheck_host.kernel import BasePlugin

            class Slow(BasePlugin):
                def __init__(self, http):
                    http.add_endpoint("/sleep-sync", "GET", lambda data, context: time.sleep(2))
                    http.add_endpoint("/sleep-async", "GET", self.nap)

                async def nap(self, data, context):
                    await asyncio.sleep(30)
            ''')
        self.boot()
        answers: dict[str, tuple] = {}
        threads = [threading.Thread(target=lambda p=p: answers.__setitem__(p, self.call("GET", p)), daemon=True)
                   for p in ("/sleep-sync", "/sleep-async")]
        for t in threads:
            t.start()
        time.sleep(0.3)
        started = time.monotonic()
        self.kernel.shutdown(0.5)
        self.assertLess(time.monotonic() - started, 1.5)
        self.assertFalse(self.kernel._loop_thread.is_alive())
        threads[1].join(2)
        self.assertEqual(answers["/sleep-async"][0], 503)
        self.assertFalse(answers["/sleep-async"][1]["success"])
        self.assertEqual(self.call("GET", "/sleep-sync")[0], 503)
        self.kernel = None


class OverHttp(TempDirTest):
    """The kernel through the host's server: routes, diagnostics, reserved prefixes."""

    def test_host_routes_and_diagnostics(self):
        from distcheck_host.server import HostApp, make_server

        folder = self.path("kernel", "domains", "shop", "plugins")
        os.makedirs(folder)
        with open(os.path.join(folder, "shop.py"), "w") as handle:
            handle.write(GOOD)
        with open(os.path.join(folder, "unknown.py"), "w") as handle:
            handle.write(UNKNOWN)
        app = HostApp(config(kernel_root=self.path("kernel"), data_dir=self.path("data")))
        app.boot()
        httpd = make_server(app)
        serving = threading.Thread(target=httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
        serving.start()
        base = f"http://127.0.0.1:{httpd.server_address[1]}"

        def fetch(method: str, path: str, body: bytes | None = None) -> tuple[int, object]:
            request = urllib.request.Request(base + path, data=body, method=method,
                                             headers={"Content-Type": "application/json"} if body else {})
            try:
                with urllib.request.urlopen(request, timeout=10) as answer:
                    return answer.status, json.loads(answer.read())
            except urllib.error.HTTPError as error:
                return error.code, json.loads(error.read())

        try:
            status, plugins = fetch("GET", "/api/kernel/plugins")
            self.assertEqual(status, 200)
            self.assertEqual([(p["name"], p["state"]) for p in plugins], [("Kinds", "booted"), ("NeedsCache", "failed")])
            codes = [d["code"] for d in fetch("GET", "/api/diagnostics")[1]]
            self.assertIn("kernel_unknown_dependency", codes)
            self.assertEqual(fetch("GET", "/kernel/good/raise"),
                             (200, {"success": False, "data": None, "error": "ValueError: no such product"}))
            status, answer = fetch("POST", "/kernel/good/async", b'{"a": [1]}')
            self.assertEqual((status, answer["data"]["got"], answer["data"]["thread"]), (200, {"a": [1]}, "kernel-loop"))
            status, answer = fetch("GET", "/kernel/good/sync")
            self.assertRegex(answer["data"]["thread"], r"^kernel-pool-\d+$")
            status, answer = fetch("GET", "/kernel/missing")
            self.assertEqual((status, answer["success"]), (404, False))
            self.assertEqual(fetch("GET", "/readyz")[0], 200)
        finally:
            app.shutdown()
            httpd.shutdown()
            httpd.server_close()
        self.assertFalse(app.kernel._loop_thread.is_alive())

    def test_kernel_paths_are_reserved_host_routes(self):
        self.assertIn("/kernel/", RESERVED_PREFIXES)
        self.assertIn("/api/kernel", RESERVED_PREFIXES)
        route, groups = match_host_route("PATCH", "/kernel/a/b", "/kernel/a/b")
        self.assertEqual((route.handler, groups), ("_kernel_endpoint", ("/a/b",)))
        self.assertEqual(match_host_route("GET", "/api/kernel/plugins", "/api/kernel/plugins")[0].handler, "_kernel_plugins")
