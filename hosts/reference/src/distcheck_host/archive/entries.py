"""Entry name and type rules (ARC-04). One refused entry refuses the whole archive."""

from __future__ import annotations

import re

from ..errors import HostError

MAX_NAME_BYTES = 4096
MAX_SEGMENT_BYTES = 255
_DRIVE = re.compile(r"^[A-Za-z]:")


class EntryProblem(HostError):
    def __init__(self, name: str, reason: str, detail: str) -> None:
        super().__init__(
            "unsafe_entry",
            f"archive entry {name!r} is refused ({reason}): {detail}. Nothing was installed; "
            "repackage the archive without it.",
        )
        self.entry = name
        self.reason = reason


def check_entry_name(raw: str) -> str:
    """Validate one entry name; return it without a trailing '/' (directories)."""
    if "\x00" in raw:
        raise EntryProblem(raw, "nul", "the name contains a NUL byte")
    if "\\" in raw:
        raise EntryProblem(raw, "backslash", "the name contains a backslash; use forward slashes only")
    if raw.startswith("/"):
        raise EntryProblem(raw, "absolute", "the path is absolute")
    if _DRIVE.match(raw):
        raise EntryProblem(raw, "drive_letter", "the path starts with a drive letter")
    encoded = raw.encode("utf-8", "surrogateescape")
    if len(encoded) > MAX_NAME_BYTES:
        raise EntryProblem(raw[:80] + "...", "name_too_long", f"the name is {len(encoded)} bytes; the limit is {MAX_NAME_BYTES}")
    name = raw[:-1] if raw.endswith("/") else raw
    if not name:
        raise EntryProblem(raw, "absolute", "the name is empty (the archive root itself)")
    segments = name.split("/")
    if ".." in segments:
        raise EntryProblem(raw, "parent_segment", "the path has a '..' segment")
    for segment in segments:
        if not segment:
            raise EntryProblem(raw, "empty_segment", "the path has an empty segment ('//')")
        if segment.startswith("."):
            raise EntryProblem(raw, "hidden", f"segment {segment!r} is hidden (starts with '.')")
        size = len(segment.encode("utf-8", "surrogateescape"))
        if size > MAX_SEGMENT_BYTES:
            raise EntryProblem(raw, "name_too_long", f"a segment is {size} bytes; the limit is {MAX_SEGMENT_BYTES}")
    return name


class EntrySet:
    """Names seen so far: refuses duplicates and a file that is also used as a directory."""

    def __init__(self) -> None:
        self.explicit: set[str] = set()
        self.files: set[str] = set()
        self.parents: set[str] = set()

    def add(self, raw: str, name: str, is_dir: bool) -> None:
        if name in self.explicit:
            raise EntryProblem(raw, "duplicate", "the archive holds this name more than once")
        if not is_dir and name in self.parents:
            raise EntryProblem(raw, "duplicate", "the name is a file here and a directory elsewhere in the archive")
        parts = name.split("/")
        for depth in range(1, len(parts)):
            parent = "/".join(parts[:depth])
            if parent in self.files:
                raise EntryProblem(raw, "duplicate", f"its parent {parent!r} is a file elsewhere in the archive")
            self.parents.add(parent)
        self.explicit.add(name)
        if not is_dir:
            self.files.add(name)
