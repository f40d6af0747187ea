"""Static files of wheel extensions at /extensions/<id>/<path> (WHL-12).

A request path is refused before the file system is touched when, after percent-decoding once, it
is empty, absolute, has a drive letter, a backslash, a NUL, a `.` or `..` segment, or still contains
a percent escape (double encoding such as `%252e%252e`). What passes is joined to the package's
`static/` directory and refused again if its real path (symlinks resolved) is not inside the real
path of `static/`. A refusal never reveals another file.
"""

from __future__ import annotations

import os
import re
from urllib.parse import unquote_to_bytes

from .errors import HostError

_ESCAPE = re.compile(r"%[0-9A-Fa-f]{2}")


def _unsafe(raw: str, reason: str) -> HostError:
    return HostError("unsafe_path", f"static path {raw!r} is refused: {reason}. Request a file inside static/ with a plain relative path.")


def clean_relative(raw: str, decoded: bool = False) -> list[str]:
    """Segments of a safe relative path; raises HostError(unsafe_path)."""
    if decoded:
        text = raw
    else:
        try:
            text = unquote_to_bytes(raw).decode("utf-8")
        except UnicodeDecodeError:
            raise _unsafe(raw, "it does not decode to UTF-8") from None
        if _ESCAPE.search(text):
            raise _unsafe(raw, "it is percent-encoded twice")
    if not text:
        raise _unsafe(raw, "it is empty")
    if "\x00" in text:
        raise _unsafe(raw, "it contains a NUL byte")
    if "\\" in text:
        raise _unsafe(raw, "it contains a backslash")
    if text.startswith("/"):
        raise _unsafe(raw, "it is absolute")
    if re.match(r"^[A-Za-z]:", text):
        raise _unsafe(raw, "it starts with a drive letter")
    segments = text.split("/")
    for segment in segments:
        if segment == "..":
            raise _unsafe(raw, "it has a '..' segment")
        if segment in ("", "."):
            raise _unsafe(raw, "it has an empty or '.' segment")
    return segments


def static_root_path(plugin) -> str | None:
    """The real path of the plugin's static/ directory, or None when it has none on disk."""
    method = getattr(plugin, "static_root", None)
    if not callable(method):
        return None
    root = method()
    if root is None:
        return None
    path = os.fspath(root) if isinstance(root, (str, os.PathLike)) else None
    if path is None or not os.path.isdir(path):
        return None
    return os.path.realpath(path)


def resolve_static(plugin, raw: str, decoded: bool = False) -> str:
    """The real path of the requested file; HostError unsafe_path / path_outside_static / not_found."""
    segments = clean_relative(raw, decoded)
    root = static_root_path(plugin)
    if root is None:
        raise HostError("not_found", "this extension has no static/ directory in its package.")
    candidate = os.path.realpath(os.path.join(root, *segments))
    outside = os.path.commonpath([root, candidate]) != root or candidate == root
    if outside:
        raise HostError(
            "path_outside_static",
            f"static path {raw!r} resolves outside the extension's static/ directory; refused.",
        )
    if not os.path.isfile(candidate):
        raise HostError("not_found", f"static file {raw!r} does not exist in the extension's static/ directory.")
    return candidate


def content_type(path: str) -> str:
    import mimetypes

    if path.endswith((".js", ".mjs")):
        return "application/javascript"
    guessed, _ = mimetypes.guess_type(path)
    return guessed or "application/octet-stream"
