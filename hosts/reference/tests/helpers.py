"""Builders for test archives and config objects. Hostile archives are only ever created and
extracted inside temporary directories the test owns."""

from __future__ import annotations

import hashlib
import io
import os
import tarfile
import tempfile
import time
import unittest
import zipfile
from types import SimpleNamespace

MANIFEST = b'name = "Demo"\nversion = "1.0.0"\n[host]\ntype = "agent"\n[host.agent]\nentry = "main.py"\n'


def sha256(path: str) -> str:
    with open(path, "rb") as handle:
        return hashlib.sha256(handle.read()).hexdigest()


def read_bytes(path: str) -> bytes:
    with open(path, "rb") as handle:
        return handle.read()


def make_tar(path: str, members: list[tuple], mode: str = "w:gz") -> str:
    """members: (name, bytes) for files, or (name, TarInfo-type, extra dict) for special entries."""
    with tarfile.open(path, mode, format=tarfile.PAX_FORMAT) as archive:
        for member in members:
            name = member[0]
            if len(member) == 2:
                data = member[1]
                info = tarfile.TarInfo(name)
                info.size = len(data)
                info.mode = 0o644
                info.mtime = int(time.time())
                archive.addfile(info, io.BytesIO(data))
            else:
                info = tarfile.TarInfo(name)
                info.type = member[1]
                for key, value in member[2].items():
                    setattr(info, key, value)
                archive.addfile(info)
    return path


def make_zip(path: str, members: list[tuple]) -> str:
    """members: (name, bytes) or (name, bytes, unix_mode)."""
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
        for member in members:
            info = zipfile.ZipInfo(member[0], date_time=(2024, 1, 1, 0, 0, 0))
            info.compress_type = zipfile.ZIP_DEFLATED
            if len(member) == 3:
                info.create_system = 3
                info.external_attr = member[2] << 16
            archive.writestr(info, member[1])
    return path


def config(**overrides):
    """A config object with the documented defaults and small timings for tests."""
    values = {
        "bind": "127.0.0.1",
        "port": 0,
        # Tests that install pass their own temp dir; others must not touch the data dir at all.
        "data_dir": overrides.pop("data_dir", None) or "/nonexistent/distcheck-test-data",
        "entry_point_group": "distcheck.test.none",
        "disabled": [],
        "graceful_timeout": 5.0,
        "max_download_bytes": 524288000,
        "download_timeout": 60.0,
        "max_extracted_bytes": 2147483648,
        "max_files": 10000,
        "poll_interval": 0.05,
        "kill_confirm": 1.0,
        "start_check": 0.5,
        "platform": "linux-x86_64",
        # DIR: no plugins unless a test passes its own root and group.
        "plugins_root": "/nonexistent/distcheck-test-plugins",
        "plugin_group": "distcheck.test.none.plugins",
        "core_version": "0.8.0",
        "agent_version": "25.1.0",
        # KRN: no kernel plugins unless a test passes its own root.
        "kernel_root": "/nonexistent/distcheck-test-kernel",
        # BND: the bundle store lives in data_dir (only tests that pass their own temp dir open it).
        "bundles_enabled": True,
    }
    values.update(overrides)
    return SimpleNamespace(values=values, **values)


class TempDirTest(unittest.TestCase):
    def setUp(self) -> None:
        self._tmp = tempfile.TemporaryDirectory(prefix="dc-test-")
        self.tmp = self._tmp.name

    def tearDown(self) -> None:
        from distcheck_host.fsutil import force_rmtree

        force_rmtree(self.tmp)
        self._tmp.cleanup()

    def path(self, *parts: str) -> str:
        return os.path.join(self.tmp, *parts)
