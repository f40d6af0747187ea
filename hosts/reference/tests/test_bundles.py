"""Bundles over HTTP (BND-01..02): an import is validated with the archive module's ARC-04 rules and
ARC-05 limits, the manifest and its backend modules before anything is stored, and a refusal leaves no
row and no file; accepted bundles go installed -> activating -> activated (or failed, the error
recorded), and deactivation disposes every route and command they registered. Every data directory
and zip lives in a temp dir the test owns."""

from __future__ import annotations

import io
import json
import os
import sqlite3
import threading
import unittest
import urllib.error
import urllib.request
import zipfile
from types import SimpleNamespace

from distcheck_host.bundles import Bundles, parse_manifest
from distcheck_host.errors import HostError
from distcheck_host.events import EventLog
from distcheck_host.registry import Registry

from .helpers import TempDirTest, config

GOOD_MODULE = '''
import os

def activate(context):
    context.register_route("GET", "/ping", lambda request: {"pong": NAME})
    context.register_command(NAME + ".hello", lambda: "hello")

def deactivate():
    with open(os.path.join(os.environ["BND_TEST_DIR"], NAME + ".deactivated"), "a") as handle:
        handle.write("deactivated\\n")
'''

FAILING_MODULE = '''
def activate(context):
    context.register_route("GET", "/early", lambda request: {"early": True})
    context.register_command("fail.early", lambda: None)
    raise RuntimeError("activation fails on purpose")
'''


def manifest(name="demo", version="1.0.0", modules=("backend.main",), commands=(), **extra) -> bytes:
    value = {"name": name, "version": version, "frontend": {"remoteEntry": "frontend/remoteEntry.js"},
             "backend": {"modules": list(modules)},
             "contributions": {"commands": [{"id": c, "title": c} for c in commands], "views": []}}
    value.update(extra)
    return json.dumps(value).encode()


def module_source(template: str, name: str) -> bytes:
    return (f"NAME = {name!r}\n" + template).encode()


def zip_bytes(members: list[tuple]) -> bytes:
    """members: (name, bytes) or (name, bytes, unix_mode); written in this order."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for member in members:
            info = zipfile.ZipInfo(member[0], date_time=(2024, 1, 1, 0, 0, 0))
            info.compress_type = zipfile.ZIP_DEFLATED
            if len(member) == 3:
                info.create_system = 3
                info.external_attr = member[2] << 16
            archive.writestr(info, member[1])
    return buffer.getvalue()


def good_bundle(name="demo", version="1.0.0", template=GOOD_MODULE, extra: list[tuple] | None = None,
                commands=()) -> bytes:
    return zip_bytes([
        ("manifest.json", manifest(name, version, commands=commands)),
        ("backend/main.py", module_source(template, name)),
        ("frontend/remoteEntry.js", b"export default {};\n"),
        *(extra or []),
    ])


def tree(root: str) -> list[str]:
    """Every path under root (relative), directories marked with a trailing slash."""
    out = []
    for current, dirs, files in os.walk(root):
        rel = os.path.relpath(current, root)
        out.extend(os.path.normpath(os.path.join(rel, d)) + "/" for d in dirs)
        out.extend(os.path.normpath(os.path.join(rel, f)) for f in files)
    return sorted(out)


class BundlesTestBase(TempDirTest):
    def setUp(self) -> None:
        super().setUp()
        self.data = self.path("data")
        os.environ["BND_TEST_DIR"] = self.tmp
        self.events = EventLog()
        self.registry = Registry()
        self.bundles = self.make(max_files=50, max_extracted_bytes=1 << 20)

    def make(self, **overrides) -> Bundles:
        bundles = Bundles(config(data_dir=self.data, **overrides), self.events, self.registry)
        bundles.load()
        return bundles

    def tearDown(self) -> None:
        os.environ.pop("BND_TEST_DIR", None)
        super().tearDown()

    def upload(self, body: bytes, bundles: Bundles | None = None) -> dict:
        return (bundles or self.bundles).import_bundle(io.BytesIO(body), len(body))

    def rows(self) -> list[tuple]:
        with sqlite3.connect(os.path.join(self.data, "bundles.sqlite3")) as connection:
            return connection.execute("SELECT name, version, state FROM extensions ORDER BY name").fetchall()

    def states(self, name: str) -> list[str]:
        return [e["state"] for e in self.events.snapshot() if e["event"] == "bundle_state" and e["name"] == name]

    def routes(self) -> list[tuple]:
        return [(r["method"], r["path"], r["owner"]) for r in self.registry.as_json()["routes"]]


class ImportTest(BundlesTestBase):
    def test_an_accepted_bundle_is_stored_and_installed(self):
        answer = self.upload(good_bundle())
        self.assertEqual(answer, {"name": "demo", "version": "1.0.0", "state": "installed"})
        self.assertEqual(self.rows(), [("demo", "1.0.0", "installed")])
        stored = os.path.join(self.data, "bundles", "demo", "1.0.0")
        self.assertEqual(tree(stored), ["backend/", "backend/main.py", "frontend/", "frontend/remoteEntry.js",
                                        "manifest.json"])
        self.assertEqual(os.listdir(os.path.join(self.data, "bundles", ".staging")), [])
        self.assertEqual(self.states("demo"), ["installed"])
        detail = self.bundles.detail("demo")
        self.assertEqual(detail["frontend_entry"], "frontend/remoteEntry.js")
        self.assertEqual(detail["backend_modules"], ["backend.main"])
        self.assertEqual((detail["activations"], detail["routes"], detail["commands"]), ([], [], []))

    def test_reimport_replaces_the_stored_version(self):
        self.upload(good_bundle())
        self.bundles.activate("demo")
        answer = self.upload(good_bundle(version="1.1.0"))
        self.assertEqual(answer["state"], "installed")
        self.assertEqual(self.rows(), [("demo", "1.1.0", "installed")])
        self.assertEqual(os.listdir(os.path.join(self.data, "bundles", "demo")), ["1.1.0"])
        self.assertEqual(self.routes(), [])  # the activated version was deactivated first
        self.assertEqual(self.states("demo"), ["installed", "activating", "activated", "deactivating", "deactivated",
                                               "installed"])
        self.upload(good_bundle(version="1.1.0"))  # the same version again
        self.assertEqual(self.rows(), [("demo", "1.1.0", "installed")])

    def assert_refused(self, body: bytes, code: str, reason: str | None = None, bundles: Bundles | None = None) -> HostError:
        before = tree(self.data)
        with self.assertRaises(HostError) as refused:
            self.upload(body, bundles)
        error = refused.exception
        self.assertEqual(error.code, code, error.message)
        self.assertGreaterEqual(error.status, 400)
        self.assertLess(error.status, 500)
        if reason is not None:
            self.assertEqual(error.to_json()["error"]["reason"], reason)
        self.assertEqual(self.rows(), [], "a refusal leaves no row")
        self.assertEqual(tree(self.data), before, "a refusal leaves no file")
        self.assertEqual([e for e in self.events.snapshot() if e["event"] == "bundle_state"], [])
        return error

    def test_refusals_leave_no_row_and_no_file(self):
        cases = [
            (b"this is not a zip", "not_a_zip", None),
            (good_bundle(extra=[("../escape.txt", b"x")]), "unsafe_entry", "parent_segment"),
            (good_bundle(extra=[("/tmp/absolute.txt", b"x")]), "unsafe_entry", "absolute"),
            (good_bundle(extra=[("data\\evil.txt", b"x")]), "unsafe_entry", "backslash"),
            (good_bundle(extra=[(".env", b"x")]), "unsafe_entry", "hidden"),
            (good_bundle(extra=[("link", b"/etc/passwd", 0o120777)]), "unsafe_entry", "symlink"),
            (good_bundle(extra=[("pipe", b"", 0o010644)]), "unsafe_entry", "fifo"),
            (good_bundle(extra=[(f"data/f{i}.txt", b"x") for i in range(60)]), "too_many_files", None),
            (good_bundle(extra=[("data/bomb.bin", b"\0" * (2 << 20))]), "too_large_extracted", None),
            (zip_bytes([("wrapped/manifest.json", manifest()), ("wrapped/backend/main.py", b"")]), "manifest_missing", None),
            (zip_bytes([("backend/main.py", b"")]), "manifest_missing", None),
            (zip_bytes([("manifest.json", b"{not json")]), "manifest_invalid", None),
            (zip_bytes([("manifest.json", manifest(name="Not A Slug", version="1.0"))]), "manifest_invalid", None),
            (zip_bytes([("manifest.json", manifest(modules=["backend.main", "backend.absent"])),
                        ("backend/main.py", b"")]), "manifest_invalid", None),
        ]
        for body, code, reason in cases:
            with self.subTest(code=code, reason=reason):
                self.assert_refused(body, code, reason)

    def test_a_refused_entry_names_its_reason_and_entry(self):
        error = self.assert_refused(good_bundle(extra=[("data/../x.txt", b"x")]), "unsafe_entry", "parent_segment")
        self.assertEqual(error.to_json()["error"]["entry"], "data/../x.txt")
        self.assertIn("data/../x.txt", error.message)

    def test_manifest_problems_are_named_together(self):
        with self.assertRaises(HostError) as refused:
            parse_manifest(manifest(name="Not A Slug", version="1.0"), {"manifest.json", "backend/main.py"})
        self.assertIn("'Not A Slug'", refused.exception.message)
        self.assertIn("'1.0'", refused.exception.message)
        with self.assertRaises(HostError) as missing:
            parse_manifest(manifest(modules=["pkg.absent"]), {"manifest.json"})
        self.assertIn("pkg/absent.py", missing.exception.message)
        ok = parse_manifest(manifest(modules=["pkg"]), {"manifest.json", "pkg/__init__.py"})
        self.assertEqual(ok.backend_modules, ["pkg"])

    def test_a_refusal_while_a_bundle_is_stored_changes_nothing_of_it(self):
        self.upload(good_bundle())
        rows, before = self.rows(), tree(self.data)
        with self.assertRaises(HostError):
            self.upload(good_bundle(version="2.0.0", extra=[(".hidden", b"x")]))
        self.assertEqual((self.rows(), tree(self.data)), (rows, before))

    def test_staging_leftovers_are_dropped_at_load(self):
        leftover = os.path.join(self.data, "bundles", ".staging", "import-old")
        os.makedirs(leftover)
        self.make()
        self.assertFalse(os.path.exists(leftover))

    def test_disabled_bundles_answer_404_and_store_nothing(self):
        data = self.path("disabled")
        bundles = Bundles(config(data_dir=data, bundles_enabled=False), self.events, self.registry)
        bundles.load()
        self.assertFalse(os.path.exists(data))
        with self.assertRaises(HostError) as refused:
            bundles.list()
        self.assertEqual((refused.exception.code, refused.exception.status), ("bundles_disabled", 404))


class LifecycleTest(BundlesTestBase):
    def test_activation_mounts_routes_and_commands_and_deactivation_disposes_them(self):
        self.upload(good_bundle(commands=["demo.declared"]))
        self.assertEqual(self.bundles.activate("demo"), {"name": "demo", "state": "activated", "error": None})
        self.assertEqual(self.routes(), [("GET", "/bundles/demo/ping", "bundle:demo")])
        route = self.registry.find_route("GET", "/bundles/demo/ping")
        self.assertEqual(route.handler(None), {"pong": "demo"})
        detail = self.bundles.detail("demo")
        self.assertEqual(detail["state"], "activated")
        self.assertEqual(detail["commands"], ["demo.declared", "demo.hello"])
        self.assertEqual(detail["routes"], [{"method": "GET", "path": "/bundles/demo/ping"}])
        self.assertEqual(self.bundles.run_command("demo.hello"), "hello")
        self.assertIsNotNone(detail["activations"][0]["activated_at"])
        with self.assertRaises(HostError) as again:
            self.bundles.activate("demo")
        self.assertEqual(again.exception.status, 409)

        self.assertEqual(self.bundles.deactivate("demo")["state"], "deactivated")
        self.assertEqual(self.routes(), [])
        detail = self.bundles.detail("demo")
        self.assertEqual((detail["state"], detail["commands"], detail["routes"]), ("deactivated", [], []))
        self.assertIsNotNone(detail["activations"][0]["deactivated_at"])
        with open(os.path.join(self.tmp, "demo.deactivated")) as handle:
            self.assertEqual(handle.read(), "deactivated\n")
        self.assertEqual(self.states("demo"), ["installed", "activating", "activated", "deactivating", "deactivated"])
        self.assertEqual(self.rows(), [("demo", "1.0.0", "deactivated")])
        self.assertFalse([m for m in __import__("sys").modules if m.startswith("_distcheck_bundle_demo")])

        # Activated again: the modules are imported afresh and the route comes back.
        self.assertEqual(self.bundles.activate("demo")["state"], "activated")
        self.assertEqual(self.routes(), [("GET", "/bundles/demo/ping", "bundle:demo")])
        self.bundles.deactivate("demo")

    def test_a_failing_activation_is_recorded_and_disposes_what_it_registered(self):
        self.upload(zip_bytes([("manifest.json", manifest("fail", commands=["fail.declared"])),
                               ("backend/main.py", FAILING_MODULE.encode())]))
        answer = self.bundles.activate("fail")
        self.assertEqual(answer, {"name": "fail", "state": "failed", "error": "RuntimeError: activation fails on purpose"})
        self.assertEqual(self.routes(), [])
        detail = self.bundles.detail("fail")
        self.assertEqual((detail["state"], detail["commands"], detail["routes"]), ("failed", [], []))
        self.assertEqual(detail["activations"], [{"activated_at": None, "deactivated_at": None,
                                                  "activation_error": "RuntimeError: activation fails on purpose"}])
        self.assertEqual(self.bundles.list(), [{"name": "fail", "version": "1.0.0", "state": "failed",
                                                "activation_error": "RuntimeError: activation fails on purpose"}])
        self.assertEqual(self.states("fail"), ["installed", "activating", "failed"])
        failed = [e for e in self.events.snapshot() if e.get("state") == "failed"]
        self.assertEqual(failed[0]["error"], "RuntimeError: activation fails on purpose")
        with self.assertRaises(HostError) as refused:
            self.bundles.deactivate("fail")
        self.assertEqual((refused.exception.code, refused.exception.status), ("not_activated", 409))

    def test_a_module_that_does_not_import_fails_the_activation(self):
        self.upload(zip_bytes([("manifest.json", manifest("broken")), ("backend/main.py", b"import not_a_module_anywhere\n")]))
        answer = self.bundles.activate("broken")
        self.assertEqual(answer["state"], "failed")
        self.assertTrue(answer["error"].startswith("ModuleNotFoundError: "), answer["error"])

    def test_two_bundles_with_the_same_module_names_never_collide(self):
        self.upload(good_bundle("first"))
        self.upload(good_bundle("second"))
        self.assertEqual(self.bundles.activate("first")["state"], "activated")
        self.assertEqual(self.bundles.activate("second")["state"], "activated")
        self.assertEqual(self.registry.find_route("GET", "/bundles/first/ping").handler(None), {"pong": "first"})
        self.assertEqual(self.registry.find_route("GET", "/bundles/second/ping").handler(None), {"pong": "second"})
        self.bundles.deactivate("first")
        self.assertIsNone(self.registry.find_route("GET", "/bundles/first/ping"))
        self.assertIsNotNone(self.registry.find_route("GET", "/bundles/second/ping"))
        self.bundles.deactivate("second")

    def test_a_command_of_another_bundle_fails_the_activation(self):
        self.upload(good_bundle("first"))
        self.upload(zip_bytes([("manifest.json", manifest("thief", commands=["first.hello"])),
                               ("backend/main.py", b"")]))
        self.bundles.activate("first")
        answer = self.bundles.activate("thief")
        self.assertEqual(answer["state"], "failed")
        self.assertIn("first.hello", answer["error"])
        self.assertEqual(self.bundles.detail("first")["commands"], ["first.hello"])
        self.bundles.deactivate("first")

    def test_activated_bundles_are_activated_again_after_a_restart(self):
        self.upload(good_bundle())
        self.bundles.activate("demo")
        self.bundles._dispose(self.bundles._live.pop("demo"))  # the old process is gone
        restarted = self.make()
        self.assertEqual(restarted.detail("demo")["state"], "activated")
        self.assertEqual(self.routes(), [("GET", "/bundles/demo/ping", "bundle:demo")])
        restarted.deactivate("demo")


class HttpTest(BundlesTestBase):
    """The server's routes for bundles: the raw body as the zip, and bundle routes answered by the registry."""

    def setUp(self) -> None:
        super().setUp()
        from distcheck_host.server import make_server

        app = SimpleNamespace(config=SimpleNamespace(bind="127.0.0.1", port=0), registry=self.registry, bundles=self.bundles)
        self.httpd = make_server(app)
        self.base = f"http://127.0.0.1:{self.httpd.server_address[1]}"
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()

    def tearDown(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()
        super().tearDown()

    def call(self, method: str, path: str, body: bytes | None = None, content_type: str = "application/zip"):
        request = urllib.request.Request(self.base + path, data=body, method=method,
                                         headers={"Content-Type": content_type} if body is not None else {})
        try:
            with urllib.request.urlopen(request, timeout=10) as response:
                return response.status, json.loads(response.read())
        except urllib.error.HTTPError as error:
            return error.code, json.loads(error.read())

    def test_import_activate_call_deactivate_over_http(self):
        self.assertEqual(self.call("POST", "/api/bundles/import", good_bundle()),
                         (201, {"name": "demo", "version": "1.0.0", "state": "installed"}))
        self.assertEqual(self.call("POST", "/api/bundles/demo/activate")[1]["state"], "activated")
        self.assertEqual(self.call("GET", "/bundles/demo/ping"), (200, {"pong": "demo"}))
        self.assertEqual(self.call("GET", "/api/bundles")[1][0]["state"], "activated")
        self.assertEqual(self.call("POST", "/api/bundles/demo/deactivate")[1]["state"], "deactivated")
        status, body = self.call("GET", "/bundles/demo/ping")
        self.assertEqual((status, body["error"]["code"]), (404, "not_found"))
        self.assertEqual(self.call("GET", "/api/bundles/nothing")[0], 404)
        self.assertEqual(self.call("DELETE", "/api/bundles/demo")[0], 405)

    def test_refusals_over_http(self):
        status, body = self.call("POST", "/api/bundles/import", good_bundle(extra=[(".env", b"x")]))
        self.assertEqual((status, body["error"]["code"], body["error"]["reason"], body["error"]["entry"]),
                         (400, "unsafe_entry", "hidden", ".env"))
        status, body = self.call("POST", "/api/bundles/import", good_bundle(), content_type="application/json")
        self.assertEqual((status, body["error"]["code"]), (415, "unsupported_media_type"))
        self.assertEqual(self.call("GET", "/api/bundles"), (200, []))


if __name__ == "__main__":
    unittest.main()
