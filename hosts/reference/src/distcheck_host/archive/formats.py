"""Accepted archive formats (ARC-01): `.tar.gz`, `.tgz`, `.zip`, decided by the file name."""

from __future__ import annotations

from ..errors import HostError

FORMATS = ((".tar.gz", "tar.gz"), (".tgz", "tar.gz"), (".zip", "zip"))


def archive_format(file_name: str) -> str:
    """"tar.gz" or "zip"; anything else is refused with `unsupported_format`."""
    lower = file_name.lower()
    for suffix, kind in FORMATS:
        if lower.endswith(suffix) and len(lower) > len(suffix):
            return kind
    raise HostError(
        "unsupported_format",
        f"archive {file_name!r} is not an accepted format; accepted: .tar.gz, .tgz, .zip. "
        "Repackage the extension in one of them.",
    )


def check_magic(path: str, kind: str, file_name: str) -> None:
    """The bytes must be what the name says: gzip for tar.gz, a zip signature for zip."""
    with open(path, "rb") as handle:
        head = handle.read(4)
    ok = head[:2] == b"\x1f\x8b" if kind == "tar.gz" else head in (b"PK\x03\x04", b"PK\x05\x06")
    if not ok:
        raise HostError(
            "unsupported_format",
            f"archive {file_name!r} is named as {kind} but its first bytes are {head.hex() or 'empty'}; "
            "it is not a valid " + ("gzip-compressed tar" if kind == "tar.gz" else "zip") + " file.",
        )
