"""Streaming, validating extraction (ARC-04, ARC-05, ARC-06).

Two passes over the archive. The first reads only the member list (zip central directory and local
headers; for tar, the headers as the stream goes by) and refuses the whole archive on any bad entry,
too many files, a declared size over the limit or a manifest that is not at the root, before a byte
is written. The second writes each member while counting the bytes actually written (declared sizes
are never trusted) and stops before the write that would cross `max_bytes`.
"""

from __future__ import annotations

import os
import stat
import struct
from dataclasses import dataclass, field
from typing import BinaryIO, Callable, Iterator

from ..errors import HostError
from .entries import EntryProblem, EntrySet, check_entry_name

MANIFEST = "extension.toml"
CHUNK = 1 << 16


@dataclass(frozen=True)
class Limits:
    max_bytes: int
    max_files: int


@dataclass
class ExtractResult:
    files: int = 0
    bytes: int = 0
    names: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class _Member:
    raw: str
    name: str
    is_dir: bool
    declared_size: int


def _corrupt(display: str, exc: BaseException) -> HostError:
    return HostError(
        "archive_corrupt",
        f"archive {display!r} cannot be read ({type(exc).__name__}: {exc}). Nothing was installed; "
        "rebuild the archive.",
    )


def _too_many(display: str, count: int, limit: int) -> HostError:
    return HostError(
        "too_many_files",
        f"archive {display!r} holds more than {limit} files (max_files; counted {count}). Nothing was "
        "installed; ship fewer files.",
    )


def _too_large(display: str, size: int, limit: int, declared: bool) -> HostError:
    how = f"declares {size} bytes" if declared else f"expanded past {limit} bytes (stopped at {size} written)"
    return HostError(
        "too_large_extracted",
        f"archive {display!r} {how}; the extracted size limit is {limit} bytes (max_extracted_bytes). "
        "Nothing was installed; ship a smaller extension.",
    )


class _Counter:
    def __init__(self, display: str, limits: Limits) -> None:
        self.display = display
        self.limits = limits
        self.entries = EntrySet()
        self.files = 0
        self.declared = 0
        self.members = 0

    def add(self, member: _Member) -> None:
        self.entries.add(member.raw, member.name, member.is_dir)
        self.members += 1
        if not member.is_dir:
            self.files += 1
            if self.files > self.limits.max_files:
                raise _too_many(self.display, self.files, self.limits.max_files)
            self.declared += member.declared_size
            if self.declared > self.limits.max_bytes:
                raise _too_large(self.display, self.declared, self.limits.max_bytes, declared=True)
        elif self.members > 2 * self.limits.max_files + 100:
            raise _too_many(self.display, self.members, self.limits.max_files)


def _check_root(display: str, files: set[str]) -> None:
    if MANIFEST in files:
        return
    nested = sorted(name for name in files if name.endswith("/" + MANIFEST))
    if nested:
        parent = nested[0].rsplit("/", 1)[0]
        raise HostError(
            "manifest_not_at_root",
            f"archive {display!r} has {nested[0]!r} but no {MANIFEST} at its root: it is wrapped in the "
            f"folder {parent + '/'!r}. Package the folder's contents, not the folder.",
        )
    raise HostError(
        "manifest_not_at_root",
        f"archive {display!r} has no {MANIFEST} at its root ({len(files)} files). Add the manifest at the top level.",
    )


# --- tar ------------------------------------------------------------------------------------------


def _tar_member(info) -> _Member:
    raw = info.name
    if info.issym():
        raise EntryProblem(raw, "symlink", f"it is a symbolic link to {info.linkname!r}")
    if info.islnk():
        raise EntryProblem(raw, "hardlink", f"it is a hard link to {info.linkname!r}")
    if info.ischr() or info.isblk():
        raise EntryProblem(raw, "device", "it is a character or block device")
    if info.isfifo():
        raise EntryProblem(raw, "fifo", "it is a FIFO")
    if not (info.isreg() or info.isdir()):
        raise EntryProblem(raw, "device", f"it is a special file (tar type {info.type!r})")
    name = check_entry_name(raw)
    return _Member(raw, name, info.isdir(), 0 if info.isdir() else info.size)


def _tar_iter(path: str) -> Iterator[tuple[_Member, Callable[[], BinaryIO | None]]]:
    import tarfile

    with tarfile.open(path, mode="r|gz") as archive:
        for info in archive:
            member = _tar_member(info)
            yield member, (lambda info=info: archive.extractfile(info))


# --- zip ------------------------------------------------------------------------------------------


def _zip_member(archive, info) -> _Member:
    raw = info.orig_filename
    mode = info.external_attr >> 16
    if info.create_system == 3 and mode:
        if stat.S_ISLNK(mode):
            raise EntryProblem(raw, "symlink", "it is a symbolic link (unix mode in the central directory)")
        if stat.S_ISCHR(mode) or stat.S_ISBLK(mode) or stat.S_ISSOCK(mode):
            raise EntryProblem(raw, "device", "it is a device or socket (unix mode in the central directory)")
        if stat.S_ISFIFO(mode):
            raise EntryProblem(raw, "fifo", "it is a FIFO (unix mode in the central directory)")
    name = check_entry_name(raw)
    if info.flag_bits & 0x1:
        raise HostError("unsupported_format", f"zip entry {raw!r} is encrypted; encrypted archives are not supported.")
    central = raw.encode("utf-8" if info.flag_bits & 0x800 else "cp437", "surrogateescape")
    archive.fp.seek(info.header_offset)
    header = archive.fp.read(30)
    if len(header) != 30 or header[:4] != b"PK\x03\x04":
        raise HostError("archive_corrupt", f"zip entry {raw!r} has no local file header at offset {info.header_offset}.")
    name_len, extra_len = struct.unpack("<HH", header[26:30])
    local = archive.fp.read(name_len)
    if local != central:
        raise EntryProblem(
            raw,
            "name_mismatch",
            f"its local header names it {local.decode('utf-8', 'backslashreplace')!r}, the central directory "
            f"{raw!r}",
        )
    is_dir = raw.endswith("/") or (info.create_system == 3 and stat.S_ISDIR(mode))
    return _Member(raw, name, is_dir, 0 if is_dir else info.file_size)


def _zip_iter(path: str) -> Iterator[tuple[_Member, Callable[[], BinaryIO | None]]]:
    import zipfile

    with zipfile.ZipFile(path) as archive:
        infos = archive.infolist()
        members = [_zip_member(archive, info) for info in infos]
        for member, info in zip(members, infos):
            yield member, (lambda info=info: archive.open(info))


# --- both -----------------------------------------------------------------------------------------


def _read_errors() -> tuple[type[BaseException], ...]:
    import tarfile
    import zipfile
    import zlib

    return (tarfile.TarError, zipfile.BadZipFile, zlib.error, EOFError, NotImplementedError, RuntimeError, OSError)


def _walk(path: str, kind: str, display: str):
    iterator = _tar_iter(path) if kind == "tar.gz" else _zip_iter(path)
    errors = _read_errors()
    while True:
        try:
            item = next(iterator)
        except StopIteration:
            return
        except HostError:
            raise
        except errors as exc:
            raise _corrupt(display, exc) from None
        yield item


def scan_archive(path: str, kind: str, limits: Limits, display: str, check_root: bool = True) -> _Counter:
    """First pass: validate every member without writing anything. `check_root=False` leaves out the
    extension.toml rule (ARC-06) for archives with a manifest of their own (bundles.py)."""
    counter = _Counter(display, limits)
    for member, _ in _walk(path, kind, display):
        counter.add(member)
    if check_root:
        _check_root(display, counter.entries.files)
    return counter


def extract_archive(path: str, kind: str, dest: str, limits: Limits, display: str,
                    check_root: bool = True) -> ExtractResult:
    """Validate, then extract into the empty directory `dest` (which the caller removes on failure)."""
    scan_archive(path, kind, limits, display, check_root)
    result = ExtractResult()
    errors = _read_errors()
    check = EntrySet()
    for member, opener in _walk(path, kind, display):
        check.add(member.raw, member.name, member.is_dir)
        target = os.path.join(dest, *member.name.split("/"))
        if member.is_dir:
            os.makedirs(target, mode=0o755, exist_ok=True)
            continue
        result.files += 1
        if result.files > limits.max_files:
            raise _too_many(display, result.files, limits.max_files)
        os.makedirs(os.path.dirname(target), mode=0o755, exist_ok=True)
        try:
            source = opener()
        except errors as exc:
            raise _corrupt(display, exc) from None
        fd = os.open(target, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, 0o644)
        with os.fdopen(fd, "wb") as out:
            if source is None:
                continue
            with source:
                while True:
                    try:
                        chunk = source.read(CHUNK)
                    except errors as exc:
                        raise _corrupt(display, exc) from None
                    if not chunk:
                        break
                    if result.bytes + len(chunk) > limits.max_bytes:
                        raise _too_large(display, result.bytes, limits.max_bytes, declared=False)
                    out.write(chunk)
                    result.bytes += len(chunk)
        result.names.append(member.name)
    return result
