"""What wheel extensions registered: routes, services, operators, shutdown callbacks.

Registrations made during a `setup()` are staged and committed only when `setup()` returns, so an
extension whose setup raises leaves nothing behind (WHL-11), and a skipped extension never registers
anything (WHL-08).
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from typing import Any, Callable

from .routes import RESERVED_PREFIXES


@dataclass
class Route:
    method: str
    path: str
    handler: Callable[[Any], Any]
    owner: str


@dataclass
class Staged:
    owner: str
    routes: list[Route] = field(default_factory=list)
    services: dict[str, Any] = field(default_factory=dict)
    operators: dict[str, dict[str, Any]] = field(default_factory=dict)
    shutdown_callbacks: list[Callable[[], Any]] = field(default_factory=list)


class Registry:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.routes: dict[tuple[str, str], Route] = {}
        self.services: dict[str, tuple[Any, str]] = {}
        self.operators: dict[str, tuple[dict[str, Any], str]] = {}
        self.shutdown_callbacks: list[tuple[Callable[[], Any], str]] = []

    def check_route(self, staged: Staged, method: str, path: str) -> None:
        if not path.startswith("/"):
            raise ValueError(f"route path {path!r} must start with '/'")
        if any(path == p.rstrip("/") or path.startswith(p) for p in RESERVED_PREFIXES):
            raise ValueError(f"route path {path!r} is reserved by the host")
        key = (method, path)
        with self._lock:
            owner = self.routes[key].owner if key in self.routes else None
        if owner is not None or any((r.method, r.path) == key for r in staged.routes):
            raise ValueError(f"route {method} {path} is already registered by {owner or staged.owner}")

    def check_service(self, staged: Staged, name: str) -> None:
        with self._lock:
            owner = self.services[name][1] if name in self.services else None
        if owner is not None or name in staged.services:
            raise ValueError(f"service {name!r} is already registered by {owner or staged.owner}")

    def check_operator(self, staged: Staged, operator_id: str) -> None:
        with self._lock:
            owner = self.operators[operator_id][1] if operator_id in self.operators else None
        if owner is not None or operator_id in staged.operators:
            raise ValueError(f"operator {operator_id!r} is already registered by {owner or staged.owner}")

    def commit(self, staged: Staged) -> None:
        with self._lock:
            for route in staged.routes:
                self.routes[(route.method, route.path)] = route
            for name, obj in staged.services.items():
                self.services[name] = (obj, staged.owner)
            for operator_id, meta in staged.operators.items():
                self.operators[operator_id] = (meta, staged.owner)
            self.shutdown_callbacks.extend((fn, staged.owner) for fn in staged.shutdown_callbacks)

    def find_route(self, method: str, path: str) -> Route | None:
        with self._lock:
            return self.routes.get((method, path))

    def has_path(self, path: str) -> bool:
        with self._lock:
            return any(p == path for (_m, p) in self.routes)

    def as_json(self) -> dict[str, Any]:
        with self._lock:
            return {
                "routes": [{"method": r.method, "path": r.path, "owner": r.owner}
                           for r in sorted(self.routes.values(), key=lambda r: (r.path, r.method))],
                "services": [{"name": name, "owner": owner} for name, (_obj, owner) in sorted(self.services.items())],
                "operators": [{"id": op_id, "owner": owner, **{k: v for k, v in meta.items() if _jsonable(v)}}
                              for op_id, (meta, owner) in sorted(self.operators.items())],
            }


def _jsonable(value: Any) -> bool:
    import json

    try:
        json.dumps(value)
    except (TypeError, ValueError):
        return False
    return True
