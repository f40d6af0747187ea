"""Download (ARC-03) and checksum (ARC-02).

The archive is copied from a local path, a file:// URL or an http(s):// URL into a file the caller
owns (inside the data directory), with a size cap and an overall deadline; the SHA-256 is computed over
the bytes as they arrive. A download shorter than its Content-Length is a checksum failure.
"""

from __future__ import annotations

import hashlib
import os
import re
import threading
import time
from dataclasses import dataclass
from urllib.parse import unquote, urlsplit

from ..errors import HostError

CHUNK = 1 << 16
_HEX64 = re.compile(r"^[0-9a-f]{64}$")


def validate_sha256(value: object) -> str:
    """Lower-case hex digest; `sha256:` prefix allowed. Refused with `checksum_invalid` otherwise."""
    if isinstance(value, str):
        text = value.strip().lower()
        if text.startswith("sha256:"):
            text = text[len("sha256:"):]
        if _HEX64.match(text):
            return text
    raise HostError(
        "checksum_invalid",
        f"sha256 {value!r} is not a SHA-256 hex digest (64 hex characters); pass the archive's digest, "
        "e.g. from `sha256sum archive.tar.gz`.",
    )


def sha256_file(path: str) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for chunk in iter(lambda: handle.read(CHUNK), b""):
            digest.update(chunk)
    return digest.hexdigest()


@dataclass(frozen=True)
class Fetched:
    file_name: str  # base name of the source, used for format, platform and local id
    size: int
    sha256: str


def source_file_name(source: str) -> str:
    parts = urlsplit(source)
    if parts.scheme in ("http", "https", "file"):
        return unquote(parts.path).rstrip("/").rsplit("/", 1)[-1]
    return os.path.basename(source.rstrip("/"))


def _too_large(source: str, size: int, limit: int, declared: bool) -> HostError:
    what = "declares" if declared else "sent more than"
    return HostError(
        "download_too_large",
        f"download of {source} {what} {size} bytes; the limit is {limit} bytes (max_download_bytes). "
        "Reduce the archive size.",
    )


def fetch(source: str, dest: str, expected_sha256: str, *, max_bytes: int, timeout: float) -> Fetched:
    """Copy `source` to `dest`, then check its SHA-256. Raises HostError; `dest` may be left for the
    caller to delete (it lives in the caller's temp dir)."""
    scheme = urlsplit(source).scheme
    if scheme in ("http", "https"):
        size, digest, truncated = _fetch_http(source, dest, max_bytes, timeout)
    else:
        path = unquote(urlsplit(source).path) if scheme == "file" else source
        if scheme not in ("", "file") and not os.path.exists(source):
            raise HostError("download_failed", f"source {source!r} uses scheme {scheme!r}; use a path, file://, http:// or https://.")
        size, digest, truncated = _fetch_local(path, dest, max_bytes, timeout, source)
    if truncated is not None or digest != expected_sha256:
        detail = f" (truncated: received {size} of {truncated} bytes)" if truncated is not None else ""
        raise HostError(
            "checksum_mismatch",
            f"SHA-256 of {source} is {digest} over {size} bytes{detail}, expected {expected_sha256}. "
            "Nothing was extracted; check the archive and its published checksum.",
        )
    return Fetched(source_file_name(source), size, digest)


def _copy(reader, dest: str, source: str, max_bytes: int, deadline: float, timeout: float) -> tuple[int, str]:
    digest = hashlib.sha256()
    size = 0
    with open(dest, "wb") as out:
        while True:
            if time.monotonic() > deadline:
                raise _timeout(source, timeout, size)
            chunk = reader.read(CHUNK)
            if not chunk:
                break
            size += len(chunk)
            if size > max_bytes:
                raise _too_large(source, size, max_bytes, declared=False)
            digest.update(chunk)
            out.write(chunk)
    if time.monotonic() > deadline:
        raise _timeout(source, timeout, size)
    return size, digest.hexdigest()


def _timeout(source: str, timeout: float, size: int) -> HostError:
    return HostError(
        "download_timeout",
        f"download of {source} did not finish within {timeout:g} s (download_timeout); {size} bytes received. "
        "Retry, or use a faster source.",
    )


def _fetch_local(path: str, dest: str, max_bytes: int, timeout: float, source: str) -> tuple[int, str, int | None]:
    try:
        stat = os.stat(path)
        handle = open(path, "rb")
    except OSError as exc:
        raise HostError("download_failed", f"cannot read {source}: {exc.strerror or exc}. Pass an existing archive file.") from None
    with handle:
        if stat.st_size > max_bytes:
            raise _too_large(source, stat.st_size, max_bytes, declared=True)
        size, digest = _copy(handle, dest, source, max_bytes, time.monotonic() + timeout, timeout)
    return size, digest, None


def _fetch_http(url: str, dest: str, max_bytes: int, timeout: float) -> tuple[int, str, int | None]:
    import http.client
    import socket
    import urllib.error
    import urllib.request

    deadline = time.monotonic() + timeout
    request = urllib.request.Request(url, headers={"User-Agent": "distcheck-host"})
    try:
        response = urllib.request.urlopen(request, timeout=timeout)
    except urllib.error.HTTPError as exc:
        exc.close()
        raise HostError("download_failed", f"download of {url} answered HTTP {exc.code} {exc.reason}; check the URL.") from None
    except (urllib.error.URLError, OSError) as exc:
        reason = getattr(exc, "reason", exc)
        if isinstance(reason, (socket.timeout, TimeoutError)):
            raise _timeout(url, timeout, 0) from None
        raise HostError("download_failed", f"download of {url} failed: {reason}. Check the URL and the network.") from None

    # The socket timeout bounds each read; a watchdog bounds the whole transfer (a slow drip).
    expired = threading.Event()

    def _expire() -> None:
        expired.set()
        try:
            response.fp.raw._sock.shutdown(socket.SHUT_RDWR)  # type: ignore[attr-defined]
        except Exception:
            pass

    watchdog = threading.Timer(max(0.0, deadline - time.monotonic()), _expire)
    watchdog.daemon = True
    watchdog.start()
    try:
        with response:
            length_header = response.headers.get("Content-Length")
            declared = int(length_header) if length_header and length_header.isdigit() else None
            if declared is not None and declared > max_bytes:
                raise _too_large(url, declared, max_bytes, declared=True)
            try:
                size, digest = _copy(response, dest, url, max_bytes, deadline, timeout)
            except http.client.HTTPException as exc:
                raise HostError(
                    "checksum_mismatch",
                    f"download of {url} was cut short ({type(exc).__name__}: {exc}); a truncated archive cannot "
                    "match its checksum. Nothing was extracted; retry the download.",
                ) from None
            except (OSError, ValueError) as exc:
                if expired.is_set() or isinstance(exc, (socket.timeout, TimeoutError)):
                    raise _timeout(url, timeout, os.path.getsize(dest) if os.path.exists(dest) else 0) from None
                raise HostError("download_failed", f"download of {url} failed while reading: {exc}.") from None
            if expired.is_set():
                raise _timeout(url, timeout, size)
    finally:
        watchdog.cancel()
    truncated = declared if declared is not None and size < declared else None
    return size, digest, truncated
