"""The host process: HTTP API (INTERFACE.md), readiness (HST-02) and shutdown (HST-03)."""

from __future__ import annotations

import json
import logging
import os
import re
import signal
import threading
import time
import traceback
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qsl, unquote, urlsplit

from .errors import HostError
from .events import EventLog
from .routes import match_host_route

log = logging.getLogger("distcheck_host.server")

MAX_BODY = 1 << 20


class HostApp:
    """Everything the HTTP handlers answer from; built before the socket listens, booted after."""

    def __init__(self, config, started_at: float | None = None) -> None:
        from .agent import Agent
        from .registry import Registry

        self.config = config
        self.started_at = time.monotonic() if started_at is None else started_at
        self.events = EventLog()
        self.registry = Registry()
        self.agent = Agent(config, self.events)
        self.loaded: list[Any] = []
        self.extensions: list[dict[str, Any]] = []
        self.diagnostics: list[dict[str, Any]] = []
        self.ready = False
        self.ready_ms: float | None = None
        self.shutting_down = False
        self._plugins: dict[str, Any] = {}
        self.plugin_dirs: Any = None  # DIR: plugin_dirs.PluginDirectories once booted
        from .kernel import Kernel  # KRN: the plugin kernel; no threads until boot() finds plugins

        self.kernel = Kernel(config, self.events)
        from .bundles import Bundles  # BND: bundles imported over HTTP; its store is opened by boot()

        self.bundles = Bundles(config, self.events, self.registry)

    def boot(self) -> None:
        """Discovery and every setup() (HST-02); a failing extension never prevents readiness."""
        from .wheel_loader import WheelLoader

        try:
            self.agent.load()
        except OSError as exc:
            log.error("agent data directory %s is unusable: %s", self.config.data_dir, exc)
        loader = WheelLoader(
            group=self.config.entry_point_group,
            core_version=self.config.core_version,
            disabled=self.config.disabled,
            registry=self.registry,
            host_config=dict(self.config.values),
        )
        try:
            result = loader.load()
            self.loaded = result.loaded
            self.extensions = loader.public_list(result.loaded)
            self._plugins = {c.ext_id: c.plugin for c in result.loaded}
        except Exception:  # discovery itself must never keep the host from serving
            log.error("wheel discovery failed:\n%s", traceback.format_exc())
        self.diagnostics = [d.as_json() for d in loader.diagnostics]
        try:  # DIR: plugin directories and wheel plugins (plugin_dirs.py); never keeps the host from serving
            from .plugin_dirs import load_plugin_dirs

            self.plugin_dirs = load_plugin_dirs(self.config, self.registry)
            self.diagnostics.extend(self.plugin_dirs.diagnostics)
        except Exception:
            log.error("plugin discovery failed:\n%s", traceback.format_exc())
        self.diagnostics.extend(self.kernel.boot())  # KRN: kernel plugins (kernel.py); never raises
        self.bundles.load()  # BND: the bundle store, and bundles activated before a restart (bundles.py); never raises
        self.ready_ms = round((time.monotonic() - self.started_at) * 1000, 1)
        self.ready = True
        self.events.emit("ready", ready_ms=self.ready_ms, extensions=len(self.extensions),
                         diagnostics=len(self.diagnostics))
        threading.Thread(target=self.agent.autostart, name="autostart", daemon=True).start()

    def shutdown(self) -> None:
        """HST-03: stop archive extensions (in parallel), then shutdown callbacks last-first, bounded."""
        from .wheel_loader import run_maybe_async

        t0 = time.monotonic()
        self.shutting_down = True
        longest = self.agent.supervisor.longest_grace()
        deadline = t0 + self.config.graceful_timeout + longest
        self.events.emit("shutdown_started", graceful_timeout=self.config.graceful_timeout,
                         longest_grace=longest)
        self.agent.shutdown()
        callbacks = list(self.registry.shutdown_callbacks)
        callbacks.reverse()
        for index, (fn, owner) in enumerate(callbacks):
            remaining = deadline - time.monotonic() - 0.2
            outcome: dict[str, Any] = {}

            def _run(fn=fn, outcome=outcome) -> None:
                try:
                    run_maybe_async(fn())
                    outcome["ok"] = True
                except BaseException as exc:
                    outcome["error"] = f"{type(exc).__name__}: {exc}"

            started = time.monotonic()
            if remaining > 0:
                worker = threading.Thread(target=_run, name=f"shutdown-{owner}", daemon=True)
                worker.start()
                worker.join(remaining)
            status = "ok" if outcome.get("ok") else ("error" if "error" in outcome else "timed_out")
            self.events.emit("shutdown_callback", owner=owner, order=index, status=status,
                             elapsed_ms=round((time.monotonic() - started) * 1000, 1),
                             **({"message": outcome["error"]} if "error" in outcome else {}))
            if status != "ok":
                log.warning("shutdown callback of %s: %s", owner, outcome.get("error", "did not finish in time"))
        self.kernel.shutdown(deadline - time.monotonic() - 0.2)  # KRN: loop and pool, within what is left
        self.events.emit("shutdown_complete", elapsed_ms=round((time.monotonic() - t0) * 1000, 1))

    # -- API answers --------------------------------------------------------------------------------

    def plugin(self, ext_id: str) -> Any:
        plugin = self._plugins.get(ext_id)
        if plugin is None:
            raise HostError("unknown_extension", f"no loaded wheel extension has id {ext_id!r}; see GET /api/extensions.")
        return plugin


class Handler(BaseHTTPRequestHandler):
    server_version = "distcheck-host"
    app: HostApp  # set on the subclass by make_server

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - stdlib signature
        return None

    def do_GET(self) -> None:
        self._dispatch("GET")

    def do_POST(self) -> None:
        self._dispatch("POST")

    def do_PUT(self) -> None:
        self._dispatch("PUT")

    def do_DELETE(self) -> None:
        self._dispatch("DELETE")

    def do_PATCH(self) -> None:
        self._dispatch("PATCH")

    # -- plumbing -------------------------------------------------------------------------------

    def _send(self, status: int, body: bytes, content_type: str = "application/json") -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self.send_header("Cache-Control", "no-store")
        self.end_headers()
        self.wfile.write(body)

    def _json(self, status: int, value: Any) -> None:
        self._send(status, json.dumps(value, default=str).encode() + b"\n")

    def _body(self) -> bytes:
        length = self.headers.get("Content-Length")
        if not length:
            return b""
        if not length.isdigit():
            raise HostError("bad_request", f"Content-Length {length!r} is not a number.")
        size = int(length)
        if size > MAX_BODY:
            raise HostError("request_too_large", f"request body is {size} bytes; the API accepts at most {MAX_BODY}.")
        return self.rfile.read(size)

    def _json_body(self) -> Any:
        raw = self._body()
        try:
            return json.loads(raw or b"null")
        except ValueError as exc:
            raise HostError("bad_request", f"request body is not valid JSON: {exc}.") from None

    def _dispatch(self, method: str) -> None:
        started = time.monotonic()
        status = 500
        try:
            status = self._route(method)
        except HostError as exc:
            status = exc.status
            self._json(exc.status, exc.to_json())
        except (BrokenPipeError, ConnectionResetError):
            return
        except Exception as exc:
            log.error("%s %s failed:\n%s", method, self.path, traceback.format_exc())
            self._json(500, {"error": {"code": "internal_error",
                                       "message": f"{type(exc).__name__}: {exc}. The host log has the details."}})
        quiet = self.path in ("/healthz", "/readyz") or self.path.startswith("/api/events")
        log.log(logging.DEBUG if quiet else logging.INFO, "%s %s -> %s (%.1f ms)", method, self.path, status,
                (time.monotonic() - started) * 1000)

    def _route(self, method: str) -> int:
        parts = urlsplit(self.path)
        raw_path = parts.path
        path = unquote(raw_path)
        self._query = parts.query
        host_route = match_host_route(method, path, raw_path)
        if host_route is not None:
            route, groups = host_route
            return getattr(self, route.handler)(method, path, *groups)
        route = self.app.registry.find_route(method, path)
        if route is not None:
            return self._extension_route(route, method, path, parts.query)
        if self.app.registry.has_path(path):
            return self._not_allowed(method, path)
        raise HostError("not_found", f"no route for {method} {path}; see INTERFACE.md for the host's routes.")

    # --- the host's own routes (routes.HOST_ROUTES) --------------------------------------------------

    def _healthz(self, _method: str, _path: str) -> int:
        return self._ok({"status": "ok"})

    def _readyz(self, _method: str, _path: str) -> int:
        app = self.app
        if app.ready and not app.shutting_down:
            return self._ok({"ready": True, "ready_ms": app.ready_ms})
        self._json(503, {"ready": False, "shutting_down": app.shutting_down})
        return 503

    def _version(self, _method: str, _path: str) -> int:
        config = self.app.config
        return self._ok({"core_version": config.core_version, "agent_version": config.agent_version, "mutant": config.mutant})

    def _config(self, _method: str, _path: str) -> int:
        return self._ok(self.app.config.as_json())

    def _extensions(self, _method: str, _path: str) -> int:
        return self._ok(self.app.extensions)

    def _diagnostics(self, _method: str, _path: str) -> int:
        return self._ok(self.app.diagnostics)

    def _registry(self, _method: str, _path: str) -> int:
        return self._ok(self.app.registry.as_json())

    def _events(self, _method: str, _path: str) -> int:
        query = dict(parse_qsl(self._query))
        since = float(query["since"]) if query.get("since") else None
        return self._ok(self.app.events.snapshot(since))

    def _plugin_list(self, _method: str, _path: str) -> int:  # DIR
        dirs = self.app.plugin_dirs
        return self._ok(dirs.list_json() if dirs is not None else [])

    def _plugin_permissions(self, _method: str, _path: str) -> int:  # DIR
        dirs = self.app.plugin_dirs
        return self._ok(dirs.permissions_json() if dirs is not None else [])

    def _kernel_plugins(self, _method: str, _path: str) -> int:  # KRN
        return self._ok(self.app.kernel.plugins_json())

    def _kernel_endpoint(self, method: str, _path: str, rest: str) -> int:  # KRN: always the envelope
        status, body = self.app.kernel.dispatch(method, rest, self._query, dict(self.headers.items()), self._body)
        self._send(status, body)
        return status

    def _bundles_list(self, _method: str, _path: str) -> int:  # BND
        return self._ok(self.app.bundles.list())

    def _bundles_import(self, _method: str, _path: str) -> int:  # BND: the raw body is the zip (bundles.py)
        self._json(201, self.app.bundles.import_request(self.headers, self.rfile))
        return 201

    def _bundle(self, method: str, path: str, raw_name: str, action: str | None) -> int:  # BND
        bundles, name = self.app.bundles, unquote(raw_name)
        if action is None and method == "GET":
            return self._ok(bundles.detail(name))
        if action in ("activate", "deactivate") and method == "POST":
            return self._ok(bundles.activate(name) if action == "activate" else bundles.deactivate(name))
        return self._not_allowed(method, path)

    def _agent_list(self, _method: str, _path: str) -> int:
        return self._ok(self.app.agent.list_status())

    def _agent_install(self, _method: str, _path: str) -> int:
        result = self.app.agent.install(self._json_body())
        self._json(201, result)
        return 201

    def _agent_extension(self, method: str, path: str, raw_id: str, action: str | None) -> int:
        agent, ext_id = self.app.agent, unquote(raw_id)
        if action is None and method == "GET":
            return self._ok(agent.status(ext_id))
        if action in ("start", "stop") and method == "POST":
            return self._ok(agent.start(ext_id) if action == "start" else agent.stop(ext_id))
        if action == "config" and method == "GET":
            return self._ok(agent.read_config(ext_id))
        if action == "config" and method == "PUT":
            return self._ok(agent.save_config(ext_id, self._json_body()))
        return self._not_allowed(method, path)

    def _ok(self, value: Any) -> int:
        self._json(200, value)
        return 200

    def _not_allowed(self, method: str, path: str) -> int:
        raise HostError("method_not_allowed", f"{method} is not allowed on {path}.")

    def _static(self, _method: str, _path: str, raw_id: str, raw_rest: str) -> int:
        from .static_files import content_type, resolve_static

        plugin = self.app.plugin(unquote(raw_id))
        path = resolve_static(plugin, raw_rest)
        with open(path, "rb") as handle:
            data = handle.read()
        self._send(200, data, content_type(path))
        return 200

    def _extension_route(self, route, method: str, path: str, query: str) -> int:
        from .sdk import Request
        from .wheel_loader import run_maybe_async

        request = Request(method=method, path=path, query=dict(parse_qsl(query)),
                          headers={k: v for k, v in self.headers.items()}, body=self._body())
        try:
            result = run_maybe_async(route.handler(request))
        except HostError:
            raise
        except Exception as exc:
            log.error("route %s %s of %s raised:\n%s", method, path, route.owner, traceback.format_exc())
            raise HostError("handler_failed", f"the handler of {route.owner} for {method} {path} raised "
                            f"{type(exc).__name__}: {exc}.", status=500) from None
        status = 200
        if isinstance(result, tuple) and len(result) == 2 and isinstance(result[0], int):
            status, result = result
        self._json(status, result)
        return status


def make_server(app: HostApp) -> ThreadingHTTPServer:
    handler = type("BoundHandler", (Handler,), {"app": app})
    return ThreadingHTTPServer((app.config.bind, app.config.port), handler)


def serve(config) -> int:
    """Run the host until SIGTERM/SIGINT; returns the process exit code."""
    started_at = time.monotonic()
    stop = threading.Event()
    received: list[int] = []

    def _on_signal(signum: int, _frame: Any) -> None:
        received.append(signum)
        stop.set()

    signal.signal(signal.SIGTERM, _on_signal)
    signal.signal(signal.SIGINT, _on_signal)

    app = HostApp(config, started_at)
    try:
        httpd = make_server(app)
    except OSError as exc:
        log.error("cannot listen on %s:%s: %s. Pick another port (--port) or bind address.", config.bind, config.port, exc)
        return 2
    host, port = httpd.server_address[:2]
    log.info("distcheck-host listening on %s:%s (core %s, agent %s, data %s, pid %s)", host, port,
             config.core_version, config.agent_version, config.data_dir, os.getpid())
    server_thread = threading.Thread(target=httpd.serve_forever, kwargs={"poll_interval": 0.1},
                                     name="http", daemon=True)
    server_thread.start()
    app.boot()
    log.info("ready in %.1f ms: %d wheel extension(s) loaded, %d diagnostic(s)", app.ready_ms or 0,
             len(app.extensions), len(app.diagnostics))
    while not stop.wait(0.5):
        pass
    log.info("received %s; shutting down", signal.Signals(received[0]).name if received else "stop")
    app.shutdown()
    httpd.shutdown()
    httpd.server_close()
    log.info("shutdown complete")
    return 0
