"""The plugin kernel (KRN, hosts/reference/SEED-SYSTEMS.md): in-process plugins with dependencies
injected by constructor parameter name, endpoints answered with the standard envelope.

- Plugins are the classes defined in `<kernel_root>/domains/<domain>/plugins/*.py` (sorted by domain,
  then file; files starting with `_` are skipped) that subclass `BasePlugin`. A class imported from
  elsewhere is not a plugin of that module. Each module is imported under the name
  `domains.<domain>.plugins.<stem>`, with `<kernel_root>` appended to `sys.path` so a plugin can
  import its own domain's helper modules.
- The constructor gets `db`, `http`, `logger`, `event_bus` by parameter name (never by position).
  A parameter with another name and no default fails that plugin (`kernel_unknown_dependency`).
- `on_boot()` runs once: an async one on the kernel loop, a sync one in the pool, bounded by
  BOOT_TIMEOUT. Endpoints it registers are staged and kept only when it returns.
- Async handlers run on one event loop thread named `kernel-loop`; sync handlers in a
  ThreadPoolExecutor whose workers are renamed `kernel-pool-<n>` (Python itself would name them
  `kernel-pool_<n>`). No handler runs on the HTTP server's thread.
- Every answer under `/kernel/` is the envelope `{success, data, error}` (see Kernel.dispatch).

Nothing here raises out of `Kernel.boot()`: a broken module or plugin is a diagnostic.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import importlib.util
import inspect
import itertools
import json
import logging
import os
import re
import sqlite3
import sys
import threading
import time
import traceback
from dataclasses import dataclass, field
from typing import Any, Callable
from urllib.parse import parse_qsl

from .errors import HostError

log = logging.getLogger("distcheck_host.kernel")

DEFAULT_KERNEL_ROOT = "/opt/distcheck-kernel"
# The names the kernel injects, in this order (the order matters to nothing but the listing).
DEPENDENCIES = ("db", "http", "logger", "event_bus")
LOOP_THREAD = "kernel-loop"
POOL_PREFIX = "kernel-pool"
POOL_WORKERS = 8
# Seconds one on_boot() may take before its plugin fails (kernel_boot_failed); readiness waits on it.
BOOT_TIMEOUT = 30.0
METHODS = ("GET", "POST", "PUT", "DELETE", "PATCH")
ENVELOPE_KEYS = frozenset({"success", "data", "error"})
_DOLLAR = re.compile(r"\$(\d+)\b")


class BasePlugin:
    """The base class of kernel plugins.

    Declare the dependencies as constructor parameters named `db`, `http`, `logger`, `event_bus`
    (any subset, any order) and register endpoints and subscriptions in `on_boot()` (sync or async).
    """

    def on_boot(self) -> Any:
        return None


def _describe(exc: BaseException) -> str:
    return f"{type(exc).__name__}: {exc}"


def _is_async(fn: Any) -> bool:
    return inspect.iscoroutinefunction(fn) or inspect.iscoroutinefunction(getattr(fn, "__call__", None))


def _arity(fn: Callable[..., Any]) -> int:
    """2 when `fn(data, context)` binds, 1 when only `fn(data)` does (the seed's `context=None` binds 2)."""
    try:
        sig = inspect.signature(fn)
    except (TypeError, ValueError):
        return 2
    for count in (2, 1):
        try:
            sig.bind(*([None] * count))
            return count
        except TypeError:
            continue
    return 2


async def _awaited(value: Any) -> Any:
    return await value


def _jsonable(value: Any) -> Any:
    try:
        json.dumps(value, allow_nan=False)
    except (TypeError, ValueError):
        return repr(value)
    return value


def envelope_of(value: Any) -> dict[str, Any]:
    """A handler's return value as the standard envelope.

    A dict with a boolean `success` and no keys besides success, data, error is an envelope already:
    it is answered as is, a missing `data` or `error` filled with null. Anything else is the data of
    a successful envelope.
    """
    if isinstance(value, dict) and isinstance(value.get("success"), bool) and set(value) <= ENVELOPE_KEYS:
        return {"success": value["success"], "data": value.get("data"), "error": value.get("error")}
    return {"success": True, "data": value, "error": None}


def _answer(status: int, error: str) -> tuple[int, bytes]:
    return status, json.dumps({"success": False, "data": None, "error": error}).encode() + b"\n"


class KernelContext:
    """The second argument of a handler: the request, and the status of the answer."""

    def __init__(self, method: str, path: str, query: dict[str, str], headers: dict[str, str], plugin: str) -> None:
        self.method = method
        self.path = path
        self.query = query
        self.headers = headers
        self.plugin = plugin
        self.status = 200

    def set_status(self, status: int) -> None:
        if isinstance(status, bool) or not isinstance(status, int) or not 200 <= status <= 599:
            raise ValueError(f"set_status({status!r}): the status must be an integer from 200 to 599")
        self.status = status


@dataclass
class Endpoint:
    method: str
    path: str
    handler: Callable[..., Any]
    plugin: str
    is_async: bool
    arity: int

    def as_json(self) -> dict[str, Any]:
        return {"method": self.method, "path": self.path, "mode": "async" if self.is_async else "sync"}


@dataclass
class Subscription:
    topic: str
    fn: Callable[[Any], Any]
    plugin: str
    is_async: bool


@dataclass
class PluginRecord:
    name: str
    domain: str
    module: str
    file: str
    state: str = "failed"
    error: str | None = None
    dependencies: list[str] = field(default_factory=list)
    endpoints: list[Endpoint] = field(default_factory=list)
    # Endpoints registered while on_boot() runs; committed when it returns.
    staged: list[Endpoint] = field(default_factory=list)
    live: bool = False
    instance: Any = None

    def as_json(self) -> dict[str, Any]:
        return {"name": self.name, "domain": self.domain, "module": self.module, "file": self.file,
                "state": self.state, "error": self.error, "dependencies": list(self.dependencies),
                "endpoints": [e.as_json() for e in self.endpoints]}


class PluginHttp:
    """`http`: what a plugin registers its endpoints with."""

    def __init__(self, kernel: Kernel, record: PluginRecord) -> None:
        self._kernel = kernel
        self._record = record

    def add_endpoint(self, path: str, method: str, handler: Callable[..., Any], **ignored: Any) -> None:
        """Serves `handler(data, context)` at `/kernel<path>`; keywords such as tags or models are ignored."""
        self._kernel._add_endpoint(self._record, path, method, handler)


class PluginEventBus:
    """`event_bus`: publish and subscribe by topic; every publication is also a `kernel_event` in the host's event log."""

    def __init__(self, kernel: Kernel, plugin: str) -> None:
        self._kernel = kernel
        self._plugin = plugin

    async def publish(self, topic: str, payload: Any = None) -> int:
        """Delivers `payload` to every subscriber of `topic`, in subscription order; returns how many took it."""
        return await self._kernel._deliver(self._plugin, topic, payload)

    def publish_sync(self, topic: str, payload: Any = None) -> int:
        """`publish` for sync code (a sync handler in the pool); never on the kernel loop itself."""
        kernel = self._kernel
        if threading.current_thread() is kernel._loop_thread:
            raise RuntimeError("publish_sync() called on the kernel loop; use `await event_bus.publish(...)` there")
        return asyncio.run_coroutine_threadsafe(self.publish(topic, payload), kernel.loop).result(BOOT_TIMEOUT)

    def subscribe(self, topic: str, fn: Callable[[Any], Any]) -> None:
        """`fn(payload)` (sync: in the pool; async: on the kernel loop) for every publication on `topic`."""
        if not callable(fn):
            raise TypeError(f"subscribe({topic!r}, ...): the subscriber must be callable, got {type(fn).__name__}")
        with self._kernel._lock:
            self._kernel._subscriptions.append(Subscription(str(topic), fn, self._plugin, _is_async(fn)))


class KernelDb:
    """`db`: SQLite at `<data_dir>/kernel.sqlite3`, opened on first use, one connection behind a lock.

    `await db.execute(sql, params)` answers the rows (a list of dicts) of a statement that returns
    rows, the lastrowid of an INSERT or REPLACE, and the rowcount of anything else. Postgres-style
    `$1, $2` placeholders with a list of params are taken as SQLite's `?1, ?2`. `execute_sync` is the
    same for sync code.
    """

    def __init__(self, kernel: Kernel, path: str) -> None:
        self._kernel = kernel
        self.path = path
        self._conn: sqlite3.Connection | None = None
        self._lock = threading.Lock()

    def _connect(self) -> sqlite3.Connection:
        if self._conn is None:
            os.makedirs(os.path.dirname(self.path), exist_ok=True)
            self._conn = sqlite3.connect(self.path, check_same_thread=False, isolation_level=None, timeout=10)
            self._conn.row_factory = sqlite3.Row
        return self._conn

    def execute_sync(self, sql: str, params: Any = None) -> Any:
        if isinstance(params, (list, tuple)) and _DOLLAR.search(sql):
            sql = _DOLLAR.sub(r"?\1", sql)
        with self._lock:
            cursor = self._connect().execute(sql, () if params is None else params)
            if cursor.description is not None:
                return [dict(row) for row in cursor.fetchall()]
            if sql.lstrip().split(None, 1)[0].upper() in ("INSERT", "REPLACE"):
                return cursor.lastrowid
            return cursor.rowcount

    async def execute(self, sql: str, params: Any = None) -> Any:
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self._kernel.pool, self.execute_sync, sql, params)

    def close(self) -> None:
        with self._lock:
            if self._conn is not None:
                self._conn.close()
                self._conn = None


class Kernel:
    def __init__(self, config: Any, events: Any) -> None:
        self.root = getattr(config, "kernel_root", None) or DEFAULT_KERNEL_ROOT
        self.events = events
        self.db = KernelDb(self, os.path.join(config.data_dir, "kernel.sqlite3"))
        self.plugins: list[PluginRecord] = []
        self.diagnostics: list[dict[str, Any]] = []
        self.loop: asyncio.AbstractEventLoop | None = None
        self.pool: concurrent.futures.ThreadPoolExecutor | None = None
        self._loop_thread: threading.Thread | None = None
        self._workers: list[threading.Thread] = []
        self._worker_numbers = itertools.count()
        self._endpoints: dict[tuple[str, str], Endpoint] = {}
        self._subscriptions: list[Subscription] = []
        self._lock = threading.Lock()
        self._closing = False

    # -- boot -----------------------------------------------------------------------------------

    def boot(self) -> list[dict[str, Any]]:
        """Loads every plugin module and boots its plugins; returns the diagnostics. Never raises."""
        t0 = time.monotonic()
        try:
            files = self._module_files()
            if files:
                self._start()
                if self.root not in sys.path:
                    sys.path.append(self.root)
            for domain, path in files:
                self._load_module(domain, path)
        except Exception:  # the kernel itself must never keep the host from serving
            log.error("kernel boot stopped:\n%s", traceback.format_exc())
        booted = sum(1 for p in self.plugins if p.state == "booted")
        log.info("kernel: %d plugin(s) booted, %d failed, %d diagnostic(s) from %s in %.1f ms", booted,
                 len(self.plugins) - booted, len(self.diagnostics), self.root, (time.monotonic() - t0) * 1000)
        return list(self.diagnostics)

    def _module_files(self) -> list[tuple[str, str]]:
        domains = os.path.join(self.root, "domains")
        if not os.path.isdir(domains):
            return []
        found: list[tuple[str, str]] = []
        for domain in sorted(os.listdir(domains)):
            folder = os.path.join(domains, domain, "plugins")
            if domain.startswith((".", "_")) or not os.path.isdir(folder):
                continue
            for name in sorted(os.listdir(folder)):
                if name.endswith(".py") and not name.startswith((".", "_")) and os.path.isfile(os.path.join(folder, name)):
                    found.append((domain, os.path.join(folder, name)))
        return found

    def _start(self) -> None:
        if self.loop is not None:
            return
        loop = asyncio.new_event_loop()

        def _run() -> None:
            asyncio.set_event_loop(loop)
            loop.run_forever()

        self.pool = concurrent.futures.ThreadPoolExecutor(max_workers=POOL_WORKERS, thread_name_prefix=POOL_PREFIX,
                                                          initializer=self._name_worker)
        loop.set_default_executor(self.pool)
        self.loop = loop
        self._loop_thread = threading.Thread(target=_run, name=LOOP_THREAD, daemon=True)
        self._loop_thread.start()

    def _name_worker(self) -> None:
        # ThreadPoolExecutor names its workers `<prefix>_<n>`; the documented names are `kernel-pool-<n>`.
        thread = threading.current_thread()
        thread.name = f"{POOL_PREFIX}-{next(self._worker_numbers)}"
        with self._lock:
            self._workers.append(thread)

    def _diag(self, code: str, plugin: str | None, file: str, message: str) -> None:
        self.diagnostics.append({"code": code, "extension_id": plugin, "module": file, "level": "error",
                                 "message": message})
        log.warning("%s: %s", code, message)

    def _load_module(self, domain: str, path: str) -> None:
        stem = os.path.basename(path)[:-3]
        module_name = f"domains.{domain}.plugins.{stem}"
        rel = os.path.relpath(path, self.root)
        try:
            spec = importlib.util.spec_from_file_location(module_name, path)
            if spec is None or spec.loader is None:
                raise ImportError(f"no loader for {path}")
            module = importlib.util.module_from_spec(spec)
            sys.modules[module_name] = module
            spec.loader.exec_module(module)
        except (Exception, SystemExit) as exc:
            sys.modules.pop(module_name, None)
            log.debug("kernel module %s:\n%s", path, traceback.format_exc())
            self._diag("kernel_module_failed", None, rel, f"kernel module {path} did not import: {_describe(exc)}; "
                       "none of its plugins was loaded, the other modules were.")
            return
        classes = [obj for obj in vars(module).values()
                   if isinstance(obj, type) and issubclass(obj, BasePlugin) and obj is not BasePlugin
                   and obj.__module__ == module_name and not inspect.isabstract(obj)]
        for cls in classes:
            self._load_plugin(cls, domain, module_name, rel)

    def _fail(self, record: PluginRecord, code: str, message: str) -> None:
        record.state = "failed"
        record.error = message
        self._diag(code, record.name, record.file, message)

    def _load_plugin(self, cls: type, domain: str, module_name: str, rel: str) -> None:
        name = cls.__name__
        record = PluginRecord(name=name, domain=domain, module=module_name, file=rel)
        with self._lock:
            self.plugins.append(record)
        try:
            params = list(inspect.signature(cls).parameters.values())
        except (TypeError, ValueError) as exc:
            self._fail(record, "kernel_plugin_failed", f"the constructor of plugin {name} ({rel}) cannot be inspected: "
                       f"{_describe(exc)}; the plugin was not loaded.")
            return
        wanted = [p for p in params if p.kind not in (inspect.Parameter.VAR_POSITIONAL, inspect.Parameter.VAR_KEYWORD)]
        unknown = [p.name for p in wanted if p.name not in DEPENDENCIES and p.default is inspect.Parameter.empty]
        if unknown:
            self._fail(record, "kernel_unknown_dependency",
                       f"plugin {name} ({rel}) asks for unknown dependenc{'y' if len(unknown) == 1 else 'ies'} "
                       f"{', '.join(repr(u) for u in unknown)}; the kernel injects constructor parameters by name and "
                       f"knows {', '.join(DEPENDENCIES)}. The plugin was not loaded; the kernel and the other plugins go on.")
            return
        deps: dict[str, Any] = {
            "db": self.db,
            "http": PluginHttp(self, record),
            "logger": logging.getLogger(f"kernel.{name}"),
            "event_bus": PluginEventBus(self, name),
        }
        args: list[Any] = []
        kwargs: dict[str, Any] = {}
        for param in wanted:
            if param.name not in deps:
                continue  # an unknown name with a default keeps its default
            if param.kind is inspect.Parameter.POSITIONAL_ONLY:
                args.append(deps[param.name])
            else:
                kwargs[param.name] = deps[param.name]
            record.dependencies.append(param.name)
        try:
            instance = cls(*args, **kwargs)
        except (Exception, SystemExit) as exc:
            log.debug("constructor of %s:\n%s", name, traceback.format_exc())
            self._fail(record, "kernel_plugin_failed", f"the constructor of plugin {name} ({rel}) raised {_describe(exc)}; "
                       "the plugin was not loaded.")
            return
        record.instance = instance
        on_boot = getattr(instance, "on_boot", None)
        try:
            if callable(on_boot):
                self._run_boot(on_boot)
        except (Exception, SystemExit) as exc:
            with self._lock:
                record.staged.clear()
                self._subscriptions = [s for s in self._subscriptions if s.plugin != name]
            self._fail(record, "kernel_boot_failed", f"on_boot() of plugin {name} ({rel}) raised {_describe(exc)}; "
                       "the endpoints and subscriptions it registered were removed.")
            return
        with self._lock:
            for endpoint in record.staged:
                self._endpoints[(endpoint.method, endpoint.path)] = endpoint
            record.endpoints.extend(record.staged)
            record.staged.clear()
            record.live = True
            record.state = "booted"
        log.info("kernel plugin %s (%s) booted: %s", name, rel,
                 ", ".join(f"{e.method} /kernel{e.path}" for e in record.endpoints) or "no endpoints")

    def _run_boot(self, on_boot: Callable[[], Any]) -> None:
        assert self.loop is not None and self.pool is not None
        if _is_async(on_boot):
            future = asyncio.run_coroutine_threadsafe(_awaited(on_boot()), self.loop)
        else:
            future = self.pool.submit(self._call_then_await, on_boot)
        try:
            future.result(timeout=BOOT_TIMEOUT)
        except concurrent.futures.TimeoutError:
            future.cancel()
            raise TimeoutError(f"on_boot() did not finish within {BOOT_TIMEOUT:g} s") from None

    def _call_then_await(self, fn: Callable[..., Any], *args: Any) -> Any:
        value = fn(*args)
        if inspect.isawaitable(value):
            value = asyncio.run_coroutine_threadsafe(_awaited(value), self.loop).result()
        return value

    def _add_endpoint(self, record: PluginRecord, path: str, method: str, handler: Callable[..., Any]) -> None:
        if not isinstance(path, str) or not path.startswith("/"):
            raise ValueError(f"add_endpoint: path {path!r} must start with '/'")
        verb = str(method).upper()
        if verb not in METHODS:
            raise ValueError(f"add_endpoint: method {method!r} must be one of {', '.join(METHODS)}")
        if not callable(handler):
            raise TypeError(f"add_endpoint: the handler of {verb} {path} must be callable")
        endpoint = Endpoint(verb, path, handler, record.name, _is_async(handler), _arity(handler))
        with self._lock:
            existing = self._endpoints.get((verb, path))
            if existing is None and any((e.method, e.path) == (verb, path) for e in record.staged):
                existing = endpoint
            if existing is not None:
                raise ValueError(f"add_endpoint: {verb} /kernel{path} is already registered by plugin {existing.plugin}")
            if record.live:
                self._endpoints[(verb, path)] = endpoint
                record.endpoints.append(endpoint)
            else:
                record.staged.append(endpoint)

    # -- events ---------------------------------------------------------------------------------

    async def _deliver(self, publisher: str, topic: str, payload: Any) -> int:
        with self._lock:
            subscribers = [s for s in self._subscriptions if s.topic == topic]
        delivered = 0
        failures: list[str] = []
        for sub in subscribers:
            try:
                if sub.is_async:
                    await sub.fn(payload)
                else:
                    loop = asyncio.get_running_loop()
                    result = await loop.run_in_executor(self.pool, sub.fn, payload)
                    if inspect.isawaitable(result):
                        await result
                delivered += 1
            except (Exception, SystemExit) as exc:
                failures.append(f"{sub.plugin}: {_describe(exc)}")
                log.warning("subscriber of %r in plugin %s raised:\n%s", topic, sub.plugin, traceback.format_exc())
        self.events.emit("kernel_event", topic=topic, publisher=publisher, subscribers=len(subscribers),
                         delivered=delivered, payload=_jsonable(payload),
                         **({"failures": failures} if failures else {}))
        return delivered

    # -- requests -------------------------------------------------------------------------------

    def dispatch(self, method: str, path: str, query: str, headers: dict[str, str],
                 read_body: Callable[[], bytes]) -> tuple[int, bytes]:
        """Answers `<method> /kernel<path>`: always the envelope `{success, data, error}`.

        A handler's return value is its envelope (envelope_of); its exception is
        `{success: false, data: null, error: "<Type>: <message>"}` with the status it set (200 by
        default). The kernel's own refusals use the same envelope with an error `"<code>: <message>"`:
        404 `not_found`, 405 `method_not_allowed`, 400 `bad_request` (body not JSON), 413
        `request_too_large`, 503 `kernel_unavailable` (shutting down).
        """
        with self._lock:
            endpoint = self._endpoints.get((method, path))
            known_path = endpoint is None and any(p == path for (_m, p) in self._endpoints)
        if endpoint is None:
            if known_path:
                return _answer(405, f"method_not_allowed: {method} is not allowed on /kernel{path}.")
            return _answer(404, f"not_found: no kernel endpoint {method} /kernel{path}; GET /api/kernel/plugins lists them.")
        if self._closing:
            return _answer(503, "kernel_unavailable: the kernel is shutting down.")
        try:
            raw = read_body()
        except HostError as exc:
            return _answer(exc.status, f"{exc.code}: {exc.message}")
        query_dict = dict(parse_qsl(query or "", keep_blank_values=True))
        if method == "GET":
            data: Any = query_dict
        elif not raw.strip():
            data = {}
        else:
            try:
                data = json.loads(raw)
            except ValueError as exc:
                return _answer(400, f"bad_request: the request body is not valid JSON: {exc}.")
        context = KernelContext(method, f"/kernel{path}", query_dict, dict(headers), endpoint.plugin)
        outcome, value = self._call(endpoint, data, context)
        if outcome == "unavailable":
            return _answer(503, value)
        if outcome == "error":
            # KRN-02: a handler's exception is the envelope's error, with the status the handler set (200 by default).
            return _answer(context.status, value)
        try:
            body = json.dumps(envelope_of(value), allow_nan=False).encode() + b"\n"
        except (TypeError, ValueError) as exc:
            return _answer(context.status, f"{type(exc).__name__}: the handler's answer is not JSON: {exc}")
        return context.status, body

    def _call(self, endpoint: Endpoint, data: Any, context: KernelContext) -> tuple[str, Any]:
        args = (data, context) if endpoint.arity == 2 else (data,)
        try:
            if endpoint.is_async:
                # Async handlers run on the kernel loop (thread `kernel-loop`).
                future = asyncio.run_coroutine_threadsafe(self._call_async(endpoint, args), self.loop)
            else:
                # Sync handlers run in the kernel's thread pool, never on the HTTP server's thread.
                future = self.pool.submit(self._call_sync, endpoint, args)
            return future.result()
        except (concurrent.futures.CancelledError, RuntimeError) as exc:
            return "unavailable", f"kernel_unavailable: the kernel is shutting down ({_describe(exc)})."

    def _handler_failed(self, endpoint: Endpoint, exc: BaseException) -> None:
        log.warning("kernel endpoint %s /kernel%s of %s raised %s", endpoint.method, endpoint.path, endpoint.plugin,
                    "".join(traceback.format_exception(type(exc), exc, exc.__traceback__)).rstrip())

    def _call_sync(self, endpoint: Endpoint, args: tuple[Any, ...]) -> tuple[str, Any]:
        try:
            return "ok", self._call_then_await(endpoint.handler, *args)
        except BaseException as exc:  # a handler's failure is the envelope's, whatever it raised
            self._handler_failed(endpoint, exc)
            return "error", _describe(exc)

    async def _call_async(self, endpoint: Endpoint, args: tuple[Any, ...]) -> tuple[str, Any]:
        try:
            value = endpoint.handler(*args)
            if inspect.isawaitable(value):
                value = await value
            return "ok", value
        except asyncio.CancelledError:
            if self._closing:
                raise
            self._handler_failed(endpoint, asyncio.CancelledError())
            return "error", "CancelledError: the handler was cancelled"
        except BaseException as exc:
            self._handler_failed(endpoint, exc)
            return "error", _describe(exc)

    # -- API and shutdown ---------------------------------------------------------------------

    def plugins_json(self) -> list[dict[str, Any]]:
        with self._lock:
            return [p.as_json() for p in self.plugins]

    def shutdown(self, timeout: float) -> None:
        """Cancels running async handlers, stops the loop and the pool; bounded by `timeout` (at least 0.1 s)."""
        self._closing = True
        end = time.monotonic() + max(timeout, 0.1)
        loop, thread = self.loop, self._loop_thread
        if loop is not None and thread is not None and thread.is_alive():
            async def _cancel_all() -> None:
                tasks = [t for t in asyncio.all_tasks() if t is not asyncio.current_task()]
                for task in tasks:
                    task.cancel()
                if tasks:
                    await asyncio.wait(tasks, timeout=max(end - time.monotonic(), 0.01))

            try:
                asyncio.run_coroutine_threadsafe(_cancel_all(), loop).result(max(end - time.monotonic(), 0.01))
            except (concurrent.futures.TimeoutError, concurrent.futures.CancelledError, RuntimeError):
                log.warning("kernel: async handlers did not end when cancelled")
            loop.call_soon_threadsafe(loop.stop)
            thread.join(max(end - time.monotonic(), 0.01))
            if not thread.is_alive():
                loop.close()
        if self.pool is not None:
            # Running sync handlers cannot be interrupted: they are waited for until the bound, and
            # the process exits without them (cli.py ends with os._exit).
            self.pool.shutdown(wait=False, cancel_futures=True)
            with self._lock:
                workers = list(self._workers)
            for worker in workers:
                worker.join(max(end - time.monotonic(), 0))
            busy = [w.name for w in workers if w.is_alive()]
            if busy:
                log.warning("kernel: handlers still running in %s at shutdown; not waited for", ", ".join(busy))
        self.db.close()
        log.info("kernel stopped")
