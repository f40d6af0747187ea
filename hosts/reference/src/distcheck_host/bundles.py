"""Bundles imported over HTTP (BND; the Superset seed, SEED-SYSTEMS.md; INTERFACE.md "Bundles (BND)").

A bundle is a zip with `manifest.json` at its root and the Python backend modules it names. Layout
under `data_dir`:

    bundles.sqlite3                     the `extensions` and `extension_activations` tables (bundle_store.py)
    bundles/<name>/<version>/           the stored files of the imported version
    bundles/.staging/import-XXXX/       one import: the uploaded zip and its extraction; removed on every outcome

BND-01: an import is validated completely before anything is stored: the zip itself, every entry with
the archive module's ARC-04 rules and ARC-05 limits (`archive.extract`, the agent's own checks), the
manifest and each backend module. A refusal leaves no row and no file. Accepted files are extracted
inside the staging directory and moved into place with one rename, then the row is written.

BND-02: activation imports each backend module under a package name unique to the bundle and to
this activation (the stored folder is that package's path), so two bundles with the same module
names never share a module, and calls its `activate(context)`. What `context` registers (routes at
`/bundles/<name><path>` in the host's registry, commands) is disposed when the activation fails and
when the bundle is deactivated. Every state change is an event `bundle_state` (events.py).
"""

from __future__ import annotations

import importlib
import itertools
import json
import logging
import os
import re
import sys
import tempfile
import threading
import traceback
import types
import zipfile
from dataclasses import dataclass, field
from typing import Any, BinaryIO, Callable, Mapping

from .archive import EntryProblem, Limits, extract_archive
from .archive.extract import scan_archive
from .bundle_store import BundleRow, BundleStore, now
from .errors import HostError
from .events import EventLog
from .fsutil import force_rmtree
from .registry import Registry, Route, Staged
from .versions import SemVer

log = logging.getLogger("distcheck_host.bundles")

MANIFEST_NAME = "manifest.json"
MAX_MANIFEST_BYTES = 1 << 20
ROUTE_PREFIX = "/bundles/"
SLUG = re.compile(r"^[a-z0-9]+(-[a-z0-9]+)*$")
MODULE = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)*$")
METHODS = ("GET", "POST", "PUT", "DELETE", "PATCH")
CHUNK = 1 << 16
DISPLAY = "uploaded bundle"

INSTALLED, ACTIVATING, ACTIVATED, FAILED = "installed", "activating", "activated", "failed"
DEACTIVATING, DEACTIVATED = "deactivating", "deactivated"


class EntryRefused(HostError):
    """ARC-04's `unsafe_entry` with its reason and entry as fields of the error body too."""

    def __init__(self, problem: EntryProblem) -> None:
        super().__init__(problem.code, problem.message)
        self.reason = problem.reason
        self.entry = problem.entry

    def to_json(self) -> dict:
        body = super().to_json()
        body["error"].update(reason=self.reason, entry=self.entry)
        return body


@dataclass(frozen=True)
class BundleManifest:
    name: str
    version: str
    frontend_entry: str | None
    backend_modules: list[str]
    # `contributions` as the manifest has it (commands, views, ...): the row's `capabilities`.
    contributions: dict[str, Any]


def _invalid(message: str) -> HostError:
    return HostError("manifest_invalid", f"{MANIFEST_NAME} is invalid: {message}. Nothing was stored; fix the manifest.")


def _module_files(module: str) -> tuple[str, str]:
    base = module.replace(".", "/")
    return f"{base}.py", f"{base}/__init__.py"


def parse_manifest(data: bytes, files: set[str]) -> BundleManifest:
    """Validates manifest.json (every field problem in one message) and that each backend module is in the zip."""
    try:
        value = json.loads(data.decode("utf-8"))
    except (UnicodeDecodeError, ValueError) as exc:
        raise _invalid(f"it is not UTF-8 JSON ({exc})") from None
    if not isinstance(value, dict):
        raise _invalid(f"it must be a JSON object, got {type(value).__name__}")
    problems: list[str] = []
    name = value.get("name")
    if not isinstance(name, str) or not SLUG.match(name):
        problems.append(f"name {name!r} must be a slug (lowercase letters and digits, single hyphens between them)")
    version = value.get("version")
    try:
        SemVer.parse(version)
    except ValueError:
        problems.append(f"version {version!r} must be strict SemVer (MAJOR.MINOR.PATCH[-pre][+build])")
    frontend_entry = None
    frontend = value.get("frontend")
    if frontend is not None:
        if not isinstance(frontend, dict):
            problems.append("frontend must be an object")
        else:
            frontend_entry = frontend.get("remoteEntry")
            if frontend_entry is not None and (not isinstance(frontend_entry, str) or not frontend_entry):
                problems.append(f"frontend.remoteEntry {frontend_entry!r} must be a non-empty string")
    modules: list[str] = []
    backend = value.get("backend")
    if backend is not None:
        if not isinstance(backend, dict):
            problems.append("backend must be an object")
        else:
            listed = backend.get("modules", [])
            if not isinstance(listed, list) or not all(isinstance(m, str) and MODULE.match(m) for m in listed):
                problems.append(f"backend.modules {listed!r} must be a list of dotted module names (pkg.module)")
            elif len(set(listed)) != len(listed):
                problems.append(f"backend.modules {listed!r} names a module twice")
            else:
                modules = list(listed)
    contributions = value.get("contributions", {})
    if not isinstance(contributions, dict):
        problems.append("contributions must be an object")
        contributions = {}
    else:
        commands = contributions.get("commands", [])
        if not isinstance(commands, list) or not all(
                isinstance(c, dict) and isinstance(c.get("id"), str) and c["id"]
                and isinstance(c.get("title", ""), str) for c in commands):
            problems.append("contributions.commands must be a list of {id, title} objects with a non-empty id")
        if not isinstance(contributions.get("views", []), list):
            problems.append("contributions.views must be a list")
    if problems:
        raise _invalid("; ".join(problems))
    for module in modules:
        as_file, as_package = _module_files(module)
        if as_file not in files and as_package not in files:
            raise _invalid(f"backend module {module!r} is not in the bundle (expected {as_file} or {as_package})")
    return BundleManifest(name, version, frontend_entry, modules, contributions)


def _manifest_missing(files: set[str]) -> HostError:
    nested = sorted(name for name in files if name.endswith("/" + MANIFEST_NAME))
    if nested:
        parent = nested[0].rsplit("/", 1)[0]
        return HostError(
            "manifest_missing",
            f"the bundle has {nested[0]!r} but no {MANIFEST_NAME} at its root: it is wrapped in the folder "
            f"{parent + '/'!r}. Zip the folder's contents, not the folder. Nothing was stored.",
        )
    return HostError("manifest_missing", f"the bundle has no {MANIFEST_NAME} at its root ({len(files)} files). "
                     "Nothing was stored.")


@dataclass
class _Live:
    """What one activation registered; disposed as a whole."""

    package: str
    routes: list[Route] = field(default_factory=list)
    commands: list[str] = field(default_factory=list)
    modules: list[types.ModuleType] = field(default_factory=list)


class BundleContext:
    """What a backend module's `activate(context)` receives."""

    def __init__(self, bundles: "Bundles", row: BundleRow, live: _Live, path: str) -> None:
        self._bundles = bundles
        self._live = live
        self.name = row.name
        self.version = row.version
        self.path = path
        self.logger = logging.getLogger(f"bundle.{row.name}")

    def register_route(self, method: str, path: str, handler: Callable[[Any], Any]) -> str:
        """Mounts `handler` at `/bundles/<name><path>`; returns the mounted path."""
        method = str(method).upper()
        if method not in METHODS:
            raise ValueError(f"method {method!r} is not one of {', '.join(METHODS)}")
        if not isinstance(path, str) or not path.startswith("/"):
            raise ValueError(f"route path {path!r} must start with '/'")
        if not callable(handler):
            raise TypeError(f"handler for {method} {path} is not callable")
        return self._bundles._mount(self._live, Route(method, f"{ROUTE_PREFIX}{self.name}{path}", handler,
                                                      f"bundle:{self.name}"))

    def register_command(self, command_id: str, fn: Callable[..., Any]) -> None:
        if not callable(fn):
            raise TypeError(f"command {command_id!r} is not callable")
        self._bundles._add_command(self._live, self.name, command_id, fn)


class Bundles:
    def __init__(self, config, events: EventLog, registry: Registry) -> None:
        self.enabled = bool(getattr(config, "bundles_enabled", True))
        self.data_dir = os.path.abspath(config.data_dir)
        self.root = os.path.join(self.data_dir, "bundles")
        self.staging = os.path.join(self.root, ".staging")
        self.store = BundleStore(os.path.join(self.data_dir, "bundles.sqlite3"))
        self.limits = Limits(config.max_extracted_bytes, config.max_files)
        self.max_body = config.max_download_bytes
        self.events = events
        self.registry = registry
        self.available = False
        self._lock = threading.RLock()
        self._live: dict[str, _Live] = {}
        # command id -> (bundle name, function; None while only the manifest declared it)
        self._commands: dict[str, tuple[str, Callable[..., Any] | None]] = {}
        self._generation = itertools.count(1)

    # -- boot -------------------------------------------------------------------------------------

    def load(self) -> None:
        """Creates the layout and the database, drops staging leftovers, activates again what was activated."""
        if not self.enabled:
            log.info("bundles are disabled (bundles_enabled = false)")
            return
        try:
            os.makedirs(self.root, exist_ok=True)
            force_rmtree(self.staging)
            os.makedirs(self.staging)
            self.store.init()
            rows = self.store.all()
        except Exception as exc:  # a bad data directory must not keep the host from serving
            log.error("bundles are unavailable: %s", exc)
            return
        self.available = True
        for row in rows:
            try:
                with self._lock:
                    if row.state in (ACTIVATED, ACTIVATING):
                        self._activate_locked(row)
                    elif row.state == DEACTIVATING:
                        self._set_state(row, DEACTIVATED)
            except Exception:
                log.error("activating bundle %s again failed:\n%s", row.name, traceback.format_exc())
        log.info("bundles in %s: %d stored", self.root, len(rows))

    def _check_available(self) -> None:
        if not self.enabled:
            raise HostError("bundles_disabled", "bundles are disabled on this host (bundles_enabled = false).",
                            status=404)
        if not self.available:
            raise HostError("bundles_unavailable", f"the bundle store in {self.data_dir} could not be opened; "
                            "the host log has the details.", status=503)

    # -- helpers ------------------------------------------------------------------------------------

    def _row(self, name: str) -> BundleRow:
        row = self.store.get(name)
        if row is None:
            raise HostError("unknown_bundle", f"no bundle named {name!r} is imported; see GET /api/bundles.",
                            status=404)
        return row

    def _set_state(self, row: BundleRow, state: str, error: str | None = None) -> None:
        self.store.set_state(row.name, state)
        self.events.emit("bundle_state", name=row.name, version=row.version, state=state,
                         **({"error": error} if error is not None else {}))

    def _folder(self, row: BundleRow) -> str:
        return os.path.join(self.root, row.name, row.version)

    # -- import (BND-01) ------------------------------------------------------------------------------

    def import_request(self, headers: Mapping[str, str], body: BinaryIO) -> dict[str, Any]:
        """POST /api/bundles/import: the raw request body is the zip."""
        self._check_available()
        content_type = (headers.get("Content-Type") or "").split(";")[0].strip().lower()
        if content_type != "application/zip":
            raise HostError("unsupported_media_type", f"a bundle is uploaded as Content-Type application/zip, "
                            f"got {content_type or 'none'}.", status=415)
        length = headers.get("Content-Length")
        if length is None or not length.isdigit():
            raise HostError("bad_request", "a bundle upload needs a Content-Length (the size of the zip).")
        if int(length) > self.max_body:
            raise HostError("request_too_large", f"the bundle is {length} bytes; the host accepts at most "
                            f"{self.max_body} (max_download_bytes).")
        return self.import_bundle(body, int(length))

    def import_bundle(self, body: BinaryIO, length: int) -> dict[str, Any]:
        self._check_available()
        stage = tempfile.mkdtemp(prefix="import-", dir=self.staging)
        try:
            upload = os.path.join(stage, "bundle.zip")
            _receive(body, length, upload)
            with self._lock:
                manifest = self._validate(upload)
                files = os.path.join(stage, "files")
                os.makedirs(files)
                try:
                    extract_archive(upload, "zip", files, self.limits, DISPLAY, check_root=False)
                except EntryProblem as exc:
                    raise EntryRefused(exc) from None
                return self._place(manifest, files, stage)
        except HostError as exc:
            self.events.emit("bundle_refused", code=exc.code, message=exc.message)
            raise
        except OSError as exc:
            error = HostError("import_failed", f"storing the bundle failed on the host: {exc}. Nothing was stored.")
            self.events.emit("bundle_refused", code=error.code, message=error.message)
            raise error from None
        finally:
            force_rmtree(stage)

    def _validate(self, upload: str) -> BundleManifest:
        """Everything BND-01 checks, before a byte of the bundle is stored."""
        if not zipfile.is_zipfile(upload):
            raise HostError("not_a_zip", f"the uploaded body ({os.path.getsize(upload)} bytes) is not a zip file. "
                            "Nothing was stored.")
        try:
            counter = scan_archive(upload, "zip", self.limits, DISPLAY, check_root=False)
        except EntryProblem as exc:
            raise EntryRefused(exc) from None
        files = counter.entries.files
        if MANIFEST_NAME not in files:
            raise _manifest_missing(files)
        try:
            with zipfile.ZipFile(upload) as archive, archive.open(MANIFEST_NAME) as handle:
                data = handle.read(MAX_MANIFEST_BYTES + 1)
        except (zipfile.BadZipFile, OSError, EOFError, RuntimeError, ValueError) as exc:
            raise HostError("archive_corrupt", f"{MANIFEST_NAME} cannot be read from the bundle ({exc}).") from None
        if len(data) > MAX_MANIFEST_BYTES:
            raise _invalid(f"it is larger than {MAX_MANIFEST_BYTES} bytes")
        return parse_manifest(data, files)

    def _place(self, manifest: BundleManifest, files: str, stage: str) -> dict[str, Any]:
        """Moves the extracted files into place with one rename, then writes the row (state installed)."""
        previous = self.store.get(manifest.name)
        if previous is not None and previous.state == ACTIVATED:
            self._deactivate_locked(previous)
        parent = os.path.join(self.root, manifest.name)
        target = os.path.join(parent, manifest.version)
        created_parent = not os.path.isdir(parent)
        os.makedirs(parent, exist_ok=True)
        aside = None
        if os.path.lexists(target):  # the same version again: the stored one is replaced
            aside = os.path.join(stage, "previous")
            os.rename(target, aside)
        os.rename(files, target)
        try:
            row = self.store.save_installed(manifest.name, manifest.version, manifest.frontend_entry,
                                            manifest.backend_modules, manifest.contributions)
        except BaseException:
            force_rmtree(target)
            if aside is not None:
                os.rename(aside, target)
            elif created_parent:
                force_rmtree(parent)
            raise
        for entry in os.listdir(parent):
            if entry != manifest.version:
                force_rmtree(os.path.join(parent, entry))
        self._set_state(row, INSTALLED)
        return {"name": row.name, "version": row.version, "state": INSTALLED}

    # -- lifecycle (BND-02) ---------------------------------------------------------------------------

    def activate(self, name: str) -> dict[str, Any]:
        self._check_available()
        with self._lock:
            row = self._row(name)
            if row.state == ACTIVATED:
                raise HostError("already_activated", f"bundle {name!r} is already activated.", status=409)
            return self._activate_locked(row)

    def _activate_locked(self, row: BundleRow) -> dict[str, Any]:
        self._set_state(row, ACTIVATING)
        ident = re.sub(r"\W", "_", row.name)
        live = _Live(package=f"_distcheck_bundle_{ident}_{next(self._generation)}")
        error = None
        try:
            self._run_activate(row, live)
        except (Exception, SystemExit) as exc:
            error = f"{type(exc).__name__}: {exc}"
            log.error("activation of bundle %s failed:\n%s", row.name, traceback.format_exc())
            self._dispose(live)
        if error is None:
            self._live[row.name] = live
            self.store.record_activation(row.id, now(), None)
            self._set_state(row, ACTIVATED)
            return {"name": row.name, "state": ACTIVATED, "error": None}
        self.store.record_activation(row.id, None, error)
        self._set_state(row, FAILED, error)
        return {"name": row.name, "state": FAILED, "error": error}

    def _run_activate(self, row: BundleRow, live: _Live) -> None:
        from .wheel_loader import run_maybe_async

        for command in row.capabilities.get("commands", []):
            self._add_command(live, row.name, command["id"], None)
        folder = self._folder(row)
        # The stored folder is the path of a package named for this bundle and this activation: its
        # modules never collide with another bundle's, nor with a previous activation's.
        package = types.ModuleType(live.package)
        package.__path__ = [folder]
        package.__package__ = live.package
        sys.modules[live.package] = package
        importlib.invalidate_caches()
        context = BundleContext(self, row, live, folder)
        for module_name in row.backend_modules:
            module = importlib.import_module(f"{live.package}.{module_name}")
            live.modules.append(module)
            activate = getattr(module, "activate", None)
            if callable(activate):
                run_maybe_async(activate(context))

    def deactivate(self, name: str) -> dict[str, Any]:
        self._check_available()
        with self._lock:
            row = self._row(name)
            if row.state != ACTIVATED:
                raise HostError("not_activated", f"bundle {name!r} is {row.state}, not activated.", status=409)
            return self._deactivate_locked(row)

    def _deactivate_locked(self, row: BundleRow) -> dict[str, Any]:
        from .wheel_loader import run_maybe_async

        self._set_state(row, DEACTIVATING)
        live = self._live.pop(row.name, None)
        error = None
        if live is not None:
            for module in reversed(live.modules):
                deactivate = getattr(module, "deactivate", None)
                if not callable(deactivate):
                    continue
                try:
                    run_maybe_async(deactivate())
                except (Exception, SystemExit) as exc:  # disposed all the same
                    error = f"{type(exc).__name__}: {exc}"
                    log.error("deactivate() of bundle %s raised:\n%s", row.name, traceback.format_exc())
            self._dispose(live)
        self.store.record_deactivation(row.id, now())
        self._set_state(row, DEACTIVATED)
        return {"name": row.name, "state": DEACTIVATED, "error": error}

    # -- registrations --------------------------------------------------------------------------------

    def _mount(self, live: _Live, route: Route) -> str:
        existing = self.registry.find_route(route.method, route.path)
        if existing is not None:
            raise ValueError(f"route {route.method} {route.path} is already registered by {existing.owner}")
        self.registry.commit(Staged(owner=route.owner, routes=[route]))
        live.routes.append(route)
        return route.path

    def _unmount(self, route: Route) -> None:
        # The registry has no removal of its own (wheel extensions never go away); bundles' routes do.
        registry = self.registry
        with registry._lock:
            key = (route.method, route.path)
            if registry.routes.get(key) is route:
                del registry.routes[key]

    def _add_command(self, live: _Live, bundle: str, command_id: str, fn: Callable[..., Any] | None) -> None:
        if not isinstance(command_id, str) or not command_id:
            raise ValueError(f"command id {command_id!r} must be a non-empty string")
        owner = self._commands.get(command_id)
        if owner is not None and not (owner[0] == bundle and owner[1] is None and fn is not None):
            raise ValueError(f"command {command_id!r} is already registered by bundle {owner[0]!r}")
        self._commands[command_id] = (bundle, fn)
        if command_id not in live.commands:
            live.commands.append(command_id)

    def _dispose(self, live: _Live) -> None:
        for route in live.routes:
            self._unmount(route)
        live.routes.clear()
        for command_id in live.commands:
            self._commands.pop(command_id, None)
        live.commands.clear()
        for key in [k for k in sys.modules if k == live.package or k.startswith(live.package + ".")]:
            del sys.modules[key]

    # -- answers ----------------------------------------------------------------------------------------

    def list(self) -> list[dict[str, Any]]:
        self._check_available()
        errors = self.store.last_errors()
        return [{"name": row.name, "version": row.version, "state": row.state, "activation_error": errors.get(row.id)}
                for row in self.store.all()]

    def detail(self, name: str) -> dict[str, Any]:
        self._check_available()
        with self._lock:
            row = self._row(name)
            live = self._live.get(name)
            routes = [{"method": r.method, "path": r.path} for r in live.routes] if live else []
            commands = sorted(live.commands) if live else []
        activations = self.store.activations(row.id)
        return {
            "name": row.name,
            "version": row.version,
            "state": row.state,
            "activation_error": activations[-1]["activation_error"] if activations else None,
            "frontend_entry": row.frontend_entry,
            "backend_modules": row.backend_modules,
            "capabilities": row.capabilities,
            "activations": activations,
            "commands": commands,
            "routes": sorted(routes, key=lambda r: (r["path"], r["method"])),
        }

    def run_command(self, command_id: str, *args: Any, **kwargs: Any) -> Any:
        """Runs a registered command (for hosts embedding bundles; no HTTP route calls it)."""
        owner = self._commands.get(command_id)
        if owner is None or owner[1] is None:
            raise HostError("unknown_command", f"no activated bundle registered command {command_id!r}.", status=404)
        return owner[1](*args, **kwargs)


def _receive(body: BinaryIO, length: int, path: str) -> None:
    """Copies exactly `length` bytes of the request body to `path`."""
    remaining = length
    with open(path, "wb") as out:
        while remaining > 0:
            chunk = body.read(min(CHUNK, remaining))
            if not chunk:
                raise HostError("bad_request", f"the upload ended after {length - remaining} of {length} bytes.")
            out.write(chunk)
            remaining -= len(chunk)


__all__ = ["BundleContext", "BundleManifest", "Bundles", "EntryRefused", "parse_manifest"]
