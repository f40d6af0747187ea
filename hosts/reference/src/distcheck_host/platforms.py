"""Platform targets (ARC-12): detection from archive file names and the pick between candidates.

Keyword tables are the Zelos seed's, matched case-insensitively as whole tokens (a keyword must not be
glued to other letters or digits, so `alarm` is not `arm`):

- OS: darwin, macos, osx -> darwin (target strings say `darwin-...`); linux -> linux;
  win32, windows, exe -> windows.
- Arch: x64, x86_64, amd64 -> x86_64; arm64, aarch64 -> arm64 on darwin, aarch64 on linux/windows;
  arm, armv7 -> arm.
- Both detected: that platform. Neither, only one, or `any` / `universal`: universal.
"""

from __future__ import annotations

import platform as _platform
import re
from dataclasses import dataclass

UNIVERSAL = "universal"
KNOWN_TARGETS = ("linux-x86_64", "linux-aarch64", "darwin-x86_64", "darwin-arm64", "windows-x86_64")

_OS_KEYWORDS = (("darwin", "darwin"), ("macos", "darwin"), ("osx", "darwin"), ("linux", "linux"),
                ("win32", "windows"), ("windows", "windows"), ("exe", "windows"))
_ARCH_KEYWORDS = (("x86_64", "x86_64"), ("amd64", "x86_64"), ("x64", "x86_64"),
                  ("aarch64", "arm64"), ("arm64", "arm64"), ("armv7", "arm"), ("arm", "arm"))
_ARCHIVE_SUFFIX = re.compile(r"\.(tar\.gz|tgz|zip)$", re.IGNORECASE)


def _has_token(name: str, keyword: str) -> bool:
    return re.search(rf"(?<![a-z0-9]){re.escape(keyword)}(?![a-z0-9])", name) is not None


def detect_platform(file_name: str) -> str:
    """`linux-x86_64`, `darwin-arm64`, ... or `universal`."""
    name = _ARCHIVE_SUFFIX.sub("", file_name.rsplit("/", 1)[-1]).lower()
    os_name = next((target for keyword, target in _OS_KEYWORDS if _has_token(name, keyword)), None)
    arch = next((target for keyword, target in _ARCH_KEYWORDS if _has_token(name, keyword)), None)
    if os_name is None or arch is None:
        return UNIVERSAL
    if arch == "arm64" and os_name != "darwin":
        arch = "aarch64"
    return f"{os_name}-{arch}"


def host_platform() -> str:
    system = _platform.system().lower()
    machine = _platform.machine().lower()
    os_name = {"darwin": "darwin", "linux": "linux", "windows": "windows"}.get(system, system)
    if machine in ("x86_64", "amd64", "x64"):
        arch = "x86_64"
    elif machine in ("aarch64", "arm64"):
        arch = "arm64" if os_name == "darwin" else "aarch64"
    elif machine.startswith("arm"):
        arch = "arm"
    else:
        arch = machine
    return f"{os_name}-{arch}"


@dataclass(frozen=True)
class Pick:
    index: int
    platform: str


def pick_candidate(file_names: list[str], target: str) -> Pick | None:
    """Exact platform first, then universal; None when neither exists. Ties go to the first listed."""
    detected = [detect_platform(name) for name in file_names]
    for wanted in (target, UNIVERSAL):
        for index, found in enumerate(detected):
            if found == wanted:
                return Pick(index, found)
    return None
