"""The SDK wheel extensions import: `from distcheck_host.sdk import Extension`.

See INTERFACE.md ("The SDK that WHL extensions use"). Kept import-light: extensions import it at
discovery time.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Callable

if TYPE_CHECKING:
    from .registry import Registry, Staged


class Extension:
    """Base class for wheel extensions. `package` is the import package holding extension.json and static/."""

    def __init__(self, package: str | None = None) -> None:
        self.package = package or type(self).__module__.split(".")[0]

    def manifest(self) -> dict[str, Any]:
        """extension.json read through importlib.resources (never from a source checkout)."""
        from importlib.resources import files

        return json.loads(files(self.package).joinpath("extension.json").read_text(encoding="utf-8"))

    def static_root(self):
        from importlib.resources import files

        return files(self.package) / "static"

    def setup(self, host: "Host") -> None:
        return None

    def shutdown(self) -> None:
        return None

    def capabilities(self) -> dict[str, Any]:
        return {}


@dataclass
class Request:
    method: str
    path: str
    query: dict[str, str]
    headers: dict[str, str]
    body: bytes = b""

    def json(self) -> Any:
        return json.loads(self.body or b"null")


@dataclass
class Host:
    """What `setup(host)` receives. Registrations are staged until setup() returns."""

    extension_id: str
    core_version: str
    config: dict[str, Any]
    _registry: "Registry" = field(repr=False)
    _staged: "Staged" = field(repr=False)

    def add_route(self, method: str, path: str, handler: Callable[[Request], Any]) -> None:
        method = method.upper()
        if not callable(handler):
            raise TypeError(f"handler for {method} {path} is not callable")
        from .registry import Route

        self._registry.check_route(self._staged, method, path)
        self._staged.routes.append(Route(method, path, handler, self.extension_id))

    def register_service(self, name: str, obj: Any) -> None:
        self._registry.check_service(self._staged, name)
        self._staged.services[name] = obj

    def register_operator(self, operator_id: str, **meta: Any) -> None:
        self._registry.check_operator(self._staged, operator_id)
        self._staged.operators[operator_id] = dict(meta)

    def register_shutdown_callback(self, fn: Callable[[], Any]) -> None:
        if not callable(fn):
            raise TypeError("shutdown callback is not callable")
        self._staged.shutdown_callbacks.append(fn)


class Router:
    """The routes of a plugin directory's router (DIR-03; INTERFACE.md, "Plugin directories").

    `router = Router()`, then `@router.get("/ping")` on `handler(request) -> JSON value` (or a
    `(status, value)` tuple). The host mounts each route of plugin `<name>` at `/plugins/<name><path>`.
    """

    METHODS = ("GET", "POST", "PUT", "DELETE", "PATCH")

    def __init__(self) -> None:
        self.routes: list[tuple[str, str, Callable[[Request], Any]]] = []

    def add_route(self, method: str, path: str, handler: Callable[[Request], Any]) -> None:
        method = method.upper()
        if method not in self.METHODS:
            raise ValueError(f"method {method!r} is not one of {', '.join(self.METHODS)}")
        if not isinstance(path, str) or not path.startswith("/"):
            raise ValueError(f"route path {path!r} must start with '/'")
        if not callable(handler):
            raise TypeError(f"handler for {method} {path} is not callable")
        self.routes.append((method, path, handler))

    def route(self, method: str, path: str) -> Callable[[Callable[[Request], Any]], Callable[[Request], Any]]:
        def register(handler: Callable[[Request], Any]) -> Callable[[Request], Any]:
            self.add_route(method, path, handler)
            return handler

        return register

    def get(self, path: str) -> Callable[[Callable[[Request], Any]], Callable[[Request], Any]]:
        return self.route("GET", path)

    def post(self, path: str) -> Callable[[Callable[[Request], Any]], Callable[[Request], Any]]:
        return self.route("POST", path)

    def put(self, path: str) -> Callable[[Callable[[Request], Any]], Callable[[Request], Any]]:
        return self.route("PUT", path)

    def delete(self, path: str) -> Callable[[Callable[[Request], Any]], Callable[[Request], Any]]:
        return self.route("DELETE", path)

    def patch(self, path: str) -> Callable[[Callable[[Request], Any]], Callable[[Request], Any]]:
        return self.route("PATCH", path)


__all__ = ["Extension", "Host", "Request", "Router"]
