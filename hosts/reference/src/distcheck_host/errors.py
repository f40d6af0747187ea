"""The one error type every refusal uses: a stable code plus a message with measured facts."""

from __future__ import annotations

# HTTP status per code; anything not listed is 400.
_STATUS = {
    "not_installed": 404,
    "not_found": 404,
    "unknown_extension": 404,
    "already_running": 409,
    "already_installed": 409,
    "install_in_progress": 409,
    "not_runnable": 409,
    "integrity_mismatch": 409,
    "unsafe_path": 400,
    "path_outside_static": 403,
    "download_too_large": 413,
    "request_too_large": 413,
    "method_not_allowed": 405,
}


class HostError(Exception):
    """A refusal with a stable `code`; `message` states what was wrong (measured values) and what to do."""

    def __init__(self, code: str, message: str, status: int | None = None) -> None:
        super().__init__(f"{code}: {message}")
        self.code = code
        self.message = message
        self.status = status if status is not None else _STATUS.get(code, 400)

    def to_json(self) -> dict:
        return {"error": {"code": self.code, "message": self.message}}
