"""Event log of every supervisor and lifecycle transition (GET /api/events).

`t_ms` is time.monotonic() * 1000, the clock the harness reads with process.hrtime (containers share
CLOCK_MONOTONIC), so host events and fixture witness lines can be ordered against each other.
"""

from __future__ import annotations

import logging
import threading
import time
from typing import Any

log = logging.getLogger("distcheck_host.events")
_QUIET = {"poll"}
MAX_EVENTS = 100_000


class EventLog:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._events: list[dict[str, Any]] = []

    def emit(self, event: str, **fields: Any) -> dict[str, Any]:
        record = {"t_ms": time.monotonic() * 1000, "event": event, **fields}
        with self._lock:
            self._events.append(record)
            if len(self._events) > MAX_EVENTS:
                del self._events[: len(self._events) - MAX_EVENTS]
        level = logging.DEBUG if event in _QUIET else logging.INFO
        if log.isEnabledFor(level):
            details = " ".join(f"{key}={value}" for key, value in fields.items() if key != "message")
            message = fields.get("message")
            log.log(level, "event %s %s%s", event, details, f" - {message}" if message else "")
        return record

    def snapshot(self, since: float | None = None) -> list[dict[str, Any]]:
        with self._lock:
            events = list(self._events)
        if since is not None:
            events = [event for event in events if event["t_ms"] > since]
        return events
