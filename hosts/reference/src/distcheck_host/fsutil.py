"""File-system helpers for the install area: read-only trees, their removal, and the integrity hash."""

from __future__ import annotations

import hashlib
import os
import shutil
import stat


def make_read_only(root: str) -> None:
    """Files 0444 (0555 when executable), directories 0555; the root too."""
    for current, dirs, files in os.walk(root, topdown=False):
        for name in files:
            path = os.path.join(current, name)
            mode = os.lstat(path).st_mode
            os.chmod(path, 0o555 if mode & 0o111 else 0o444)
        os.chmod(current, 0o555)


def force_rmtree(path: str) -> None:
    """Remove a tree even when parts of it are read-only; silent when it does not exist."""
    if not os.path.lexists(path):
        return

    if os.path.isdir(path) and not os.path.islink(path):
        # Unlinking needs write permission on the directory, not on the file.
        for current, _dirs, _files in os.walk(path):
            try:
                os.chmod(current, stat.S_IRWXU)
            except OSError:
                pass
        shutil.rmtree(path)
    else:
        os.unlink(path)


def integrity_hash(root: str) -> str:
    """sha256 over every entry's relative path (sorted) and each file's content digest."""
    entries: list[tuple[str, str]] = []
    for current, dirs, files in os.walk(root):
        dirs.sort()
        rel_dir = os.path.relpath(current, root)
        for name in dirs:
            entries.append((os.path.normpath(os.path.join(rel_dir, name)), "D"))
        for name in files:
            entries.append((os.path.normpath(os.path.join(rel_dir, name)), "F"))
    digest = hashlib.sha256()
    for rel, kind in sorted(entries):
        path = os.path.join(root, rel)
        digest.update(kind.encode() + b"\0" + rel.replace(os.sep, "/").encode("utf-8", "surrogateescape") + b"\0")
        if kind == "F":
            if os.path.islink(path):
                digest.update(b"L" + os.readlink(path).encode("utf-8", "surrogateescape"))
                continue
            content = hashlib.sha256()
            with open(path, "rb") as handle:
                for chunk in iter(lambda: handle.read(1 << 16), b""):
                    content.update(chunk)
            digest.update(content.digest())
    return "sha256:" + digest.hexdigest()


def write_atomic(path: str, data: bytes) -> None:
    tmp = f"{path}.tmp-{os.getpid()}"
    with open(tmp, "wb") as handle:
        handle.write(data)
        handle.flush()
        os.fsync(handle.fileno())
    os.replace(tmp, path)
