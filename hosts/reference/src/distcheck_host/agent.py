"""The agent: installs archive extensions atomically (ARC-01..12), starts, stops and upgrades them
(ARC-13..16) through the supervisor.

Layout under `data_dir`:

    tmp/install-XXXX/                 staging: the download and the extraction; removed on every outcome
    extensions/<id>/state.json        {"version", "platform", "enabled"}: the active version
    extensions/<id>/<version>/code/   the archive contents, read-only (ARC-08)
    extensions/<id>/<version>/.integrity, config.json, extension.log, data/   beside code/

An install builds `<version>/` completely inside the staging directory and moves it into place with
one rename, so a refusal at any step leaves nothing behind and never touches an installed version.
"""

from __future__ import annotations

import json
import logging
import os
import shutil
import tempfile
import threading
from dataclasses import dataclass
from typing import Any

from .archive import Limits, archive_format, extract_archive, fetch, validate_sha256
from .archive.fetch import source_file_name
from .archive.formats import check_magic
from .errors import HostError
from .events import EventLog
from .fsutil import force_rmtree, integrity_hash, make_read_only, write_atomic
from .manifest import MANIFEST_NAME, derive_id, parse_manifest
from .platforms import detect_platform, pick_candidate
from .supervisor import Supervisor
from .versions import Range, SemVer

log = logging.getLogger("distcheck_host.agent")


@dataclass
class Installed:
    ext_id: str
    version: str
    platform: str
    manifest: dict[str, Any]
    enabled: bool
    path: str  # <data>/extensions/<id>/<version>


class Agent:
    def __init__(self, config, events: EventLog, supervisor: Supervisor | None = None) -> None:
        self.config = config
        self.events = events
        self.supervisor = supervisor or Supervisor(config, events)
        self.data_dir = os.path.abspath(config.data_dir)
        self.extensions_dir = os.path.join(self.data_dir, "extensions")
        self.tmp_dir = os.path.join(self.data_dir, "tmp")
        self._lock = threading.Lock()
        self._id_locks: dict[str, threading.Lock] = {}
        self._installed: dict[str, Installed] = {}

    # -- boot -----------------------------------------------------------------------------------

    def load(self) -> None:
        """Create the data layout, drop staging leftovers, read installed extensions."""
        os.makedirs(self.extensions_dir, exist_ok=True)
        force_rmtree(self.tmp_dir)
        os.makedirs(self.tmp_dir, exist_ok=True)
        for ext_id in sorted(os.listdir(self.extensions_dir)):
            id_dir = os.path.join(self.extensions_dir, ext_id)
            state_path = os.path.join(id_dir, "state.json")
            try:
                with open(state_path, encoding="utf-8") as handle:
                    state = json.load(handle)
                version = state["version"]
                path = os.path.join(id_dir, version)
                with open(os.path.join(path, "code", MANIFEST_NAME), encoding="utf-8") as handle:
                    manifest = parse_manifest(handle.read())
            except (OSError, ValueError, KeyError, HostError) as exc:
                log.error("ignoring %s: cannot read its installed state (%s)", id_dir, exc)
                continue
            for entry in os.listdir(id_dir):
                stale = os.path.join(id_dir, entry)
                if entry != version and os.path.isdir(stale):
                    log.warning("removing %s: a version directory no install refers to", stale)
                    force_rmtree(stale)
            self._installed[ext_id] = Installed(ext_id, version, state.get("platform", "universal"), manifest,
                                                bool(state.get("enabled", True)), path)
        log.info("agent data in %s: %d archive extension(s) installed", self.data_dir, len(self._installed))

    def autostart(self) -> None:
        """Start the extensions that were running (enabled) when the host last stopped."""
        for item in self.list_installed():
            if item.enabled and item.manifest["host"]["type"] == "agent":
                try:
                    with self._id_lock(item.ext_id):
                        self.supervisor.start(item.ext_id, item.version, item.path, item.manifest)
                except HostError as exc:
                    log.error("autostart of %s %s refused: %s", item.ext_id, item.version, exc)

    # -- helpers --------------------------------------------------------------------------------

    def _id_lock(self, ext_id: str) -> threading.Lock:
        with self._lock:
            return self._id_locks.setdefault(ext_id, threading.Lock())

    def list_installed(self) -> list[Installed]:
        with self._lock:
            return [self._installed[key] for key in sorted(self._installed)]

    def get(self, ext_id: str) -> Installed:
        with self._lock:
            item = self._installed.get(ext_id)
        if item is None:
            raise HostError("not_installed", f"no archive extension {ext_id!r} is installed; install it first (POST /api/agent/install).")
        return item

    def _write_state(self, item: Installed) -> None:
        state = {"version": item.version, "platform": item.platform, "enabled": item.enabled}
        write_atomic(os.path.join(self.extensions_dir, item.ext_id, "state.json"), json.dumps(state).encode())

    def status(self, ext_id: str) -> dict[str, Any]:
        item = self.get(ext_id)
        return self._status(item)

    def _status(self, item: Installed) -> dict[str, Any]:
        run = self.supervisor.status(item.ext_id, item.version)
        return {
            "id": item.ext_id,
            "version": item.version,
            "state": run["state"],
            "pid": run["pid"],
            "exit": run["exit"],
            "path": item.path,
            "code": os.path.join(item.path, "code"),
            "platform": item.platform,
            "enabled": item.enabled,
            "manifest": item.manifest,
        }

    def list_status(self) -> list[dict[str, Any]]:
        return [self._status(item) for item in self.list_installed()]

    # -- install --------------------------------------------------------------------------------

    def install(self, body: Any) -> dict[str, Any]:
        if not isinstance(body, dict):
            raise HostError("bad_request", "install body must be a JSON object with source and sha256 (or candidates).")
        requested_id = body.get("id")
        if requested_id is not None and not isinstance(requested_id, str):
            raise HostError("bad_request", f"id must be a string, got {requested_id!r}.")
        if "candidates" in body:
            candidates = body["candidates"]
            if not isinstance(candidates, list) or not candidates or not all(isinstance(c, dict) for c in candidates):
                raise HostError("bad_request", "candidates must be a non-empty array of {source, sha256} objects.")
        else:
            candidates = [body]
        for candidate in candidates:
            if not isinstance(candidate.get("source"), str) or not candidate["source"]:
                raise HostError("bad_request", "every install source must be a non-empty string (a path or URL).")
        names = [source_file_name(c["source"]) for c in candidates]
        pick = pick_candidate(names, self.config.platform)
        if pick is None:
            found = ", ".join(f"{name} ({detect_platform(name)})" for name in names)
            raise HostError(
                "no_platform_package",
                f"no package for this host's platform {self.config.platform} and no universal package among: {found}. "
                "Provide an archive named for this platform or a universal one.",
            )
        chosen = candidates[pick.index]
        source, file_name = chosen["source"], names[pick.index]
        kind = archive_format(file_name)
        expected = validate_sha256(chosen.get("sha256"))
        self.events.emit("install_started", source=source, platform=pick.platform)
        try:
            return self._install(source, file_name, kind, expected, requested_id, pick.platform)
        except HostError as exc:
            self.events.emit("install_refused", source=source, code=exc.code, message=exc.message)
            raise
        except OSError as exc:
            error = HostError("install_failed", f"installing {source} failed on the host: {exc}. Nothing was installed.")
            self.events.emit("install_refused", source=source, code=error.code, message=error.message)
            raise error from None

    def _install(self, source: str, file_name: str, kind: str, expected: str, requested_id: str | None,
                 platform: str) -> dict[str, Any]:
        os.makedirs(self.tmp_dir, exist_ok=True)
        staging = tempfile.mkdtemp(prefix="install-", dir=self.tmp_dir)
        try:
            archive = os.path.join(staging, "archive")
            fetch(source, archive, expected, max_bytes=self.config.max_download_bytes,
                  timeout=self.config.download_timeout)
            check_magic(archive, kind, file_name)
            version_stage = os.path.join(staging, "version")
            code = os.path.join(version_stage, "code")
            os.makedirs(code)
            limits = Limits(self.config.max_extracted_bytes, self.config.max_files)
            extracted = extract_archive(archive, kind, code, limits, file_name)
            os.unlink(archive)
            with open(os.path.join(code, MANIFEST_NAME), encoding="utf-8", errors="strict") as handle:
                try:
                    text = handle.read()
                except UnicodeDecodeError as exc:
                    raise HostError("manifest_invalid", f"extension.toml is not UTF-8 text: {exc}.") from None
            manifest = parse_manifest(text)
            ext_id, _origin = derive_id(requested_id, manifest.get("repository"), file_name)
            self._check_runnable(ext_id, manifest, code)
            make_read_only(code)
            write_atomic(os.path.join(version_stage, ".integrity"), (integrity_hash(code) + "\n").encode())
            with self._id_lock(ext_id):
                result = self._place(ext_id, manifest, version_stage, platform, extracted.files)
        except BaseException:
            force_rmtree(staging)
            raise
        force_rmtree(staging)
        return result

    def _check_runnable(self, ext_id: str, manifest: dict[str, Any], code: str) -> None:
        version = manifest["version"]
        host_range = manifest["core"]["version"]
        agent_version = self.config.agent_version
        if not Range.parse(host_range).satisfied_by(SemVer.parse(agent_version)):
            raise HostError(
                "incompatible_host_version",
                f"{ext_id} {version} requires host version {host_range!r} ([core] version), but this host is "
                f"{agent_version}. Install a release of the extension built for {agent_version}.",
            )
        targets = manifest["targets"]
        if targets and self.config.platform not in targets:
            raise HostError(
                "no_platform_package",
                f"{ext_id} {version} supports {', '.join(targets)}; this host is {self.config.platform}.",
            )
        if manifest["host"]["type"] == "agent":
            entry = manifest["host"]["agent"]["entry"]
            if not os.path.isfile(os.path.join(code, *entry.split("/"))):
                raise HostError("manifest_invalid", f"extension.toml: entry {entry!r} is not a file in the archive.")
            if not os.path.isdir(os.path.join(code, *manifest["workdir"].split("/"))):
                raise HostError("manifest_invalid", f"extension.toml: workdir {manifest['workdir']!r} is not a directory in the archive.")
        if manifest["config"]:
            from .extension_config import initial_config

            initial_config(code, manifest)  # the schema must exist and parse

    def _place(self, ext_id: str, manifest: dict[str, Any], version_stage: str, platform: str,
               files: int) -> dict[str, Any]:
        version = manifest["version"]
        with self._lock:
            previous = self._installed.get(ext_id)
        if previous is not None and previous.version == version:
            raise HostError(
                "already_installed",
                f"{ext_id} {version} is already installed at {previous.path}; install a different version to upgrade.",
            )
        id_dir = os.path.join(self.extensions_dir, ext_id)
        created_id_dir = not os.path.isdir(id_dir)
        os.makedirs(id_dir, exist_ok=True)
        target = os.path.join(id_dir, version)
        force_rmtree(target)  # a leftover of an interrupted install that no state refers to
        os.rename(version_stage, target)
        item = Installed(ext_id, version, platform, manifest, True, target)
        try:
            if previous is None:
                return self._fresh(item, files)
            return self._upgrade(previous, item, files)
        except BaseException:
            force_rmtree(target)
            if created_id_dir:
                force_rmtree(id_dir)
            raise

    def _fresh(self, item: Installed, files: int) -> dict[str, Any]:
        self._write_state(item)
        with self._lock:
            self._installed[item.ext_id] = item
        self.events.emit("installed", id=item.ext_id, version=item.version, path=item.path,
                         platform=item.platform, files=files)
        if item.manifest["host"]["type"] == "agent":
            try:
                self.supervisor.start(item.ext_id, item.version, item.path, item.manifest)
            except HostError as exc:
                log.error("%s %s installed but did not start: %s", item.ext_id, item.version, exc)
        return self._status(item)

    def _upgrade(self, old: Installed, new: Installed, files: int) -> dict[str, Any]:
        self.events.emit("upgrade_started", id=new.ext_id, previous_version=old.version, version=new.version)
        was_running = self.supervisor.is_running(old.ext_id)
        if was_running:
            self.supervisor.stop(old.ext_id, reason="upgrade")
        for name in ("config.json", "data"):
            src = os.path.join(old.path, name)
            dst = os.path.join(new.path, name)
            if os.path.isdir(src):
                shutil.copytree(src, dst, symlinks=True)
            elif os.path.isfile(src):
                shutil.copy2(src, dst)
        failure: str | None = None
        if new.manifest["host"]["type"] == "agent":
            try:
                run = self.supervisor.start(new.ext_id, new.version, new.path, new.manifest)
                if run.exited.wait(self.config.start_check):
                    status = self.supervisor.status(new.ext_id, new.version)
                    failure = f"it exited with {status['exit']} within {self.config.start_check:g} s of starting"
            except HostError as exc:
                failure = f"{exc.code}: {exc.message}"
        if failure is not None:
            log_tail = _tail(os.path.join(new.path, "extension.log"))
            self.supervisor.forget(new.ext_id)
            restored = "stopped"
            if was_running:
                try:
                    self.supervisor.start(old.ext_id, old.version, old.path, old.manifest)
                    restored = "running"
                except HostError as exc:
                    restored = f"not running ({exc.code})"
            self.events.emit("rolled_back", id=new.ext_id, version=new.version, restored_version=old.version,
                             restored_state=restored, reason=failure)
            raise HostError(
                "start_failed",
                f"{new.ext_id} {new.version} failed to start: {failure}; {old.version} was restored ({restored}). "
                f"Last lines of its extension.log: {log_tail!r}",
            )
        self._write_state(new)
        with self._lock:
            self._installed[new.ext_id] = new
        force_rmtree(old.path)
        self.events.emit("installed", id=new.ext_id, version=new.version, path=new.path, platform=new.platform,
                         files=files, previous_version=old.version)
        result = self._status(new)
        result["previous_version"] = old.version
        return result

    # -- lifecycle --------------------------------------------------------------------------------

    def start(self, ext_id: str) -> dict[str, Any]:
        item = self.get(ext_id)
        with self._id_lock(ext_id):
            self.supervisor.start(item.ext_id, item.version, item.path, item.manifest)
            item.enabled = True
            self._write_state(item)
        return self._status(item)

    def stop(self, ext_id: str) -> dict[str, Any]:
        item = self.get(ext_id)
        with self._id_lock(ext_id):
            self.supervisor.stop(ext_id, reason="user")
            item.enabled = False
            self._write_state(item)
        return self._status(item)

    def read_config(self, ext_id: str) -> Any:
        item = self.get(ext_id)
        path = os.path.join(item.path, "config.json")
        try:
            with open(path, encoding="utf-8") as handle:
                return json.load(handle)
        except FileNotFoundError:
            return None

    def save_config(self, ext_id: str, value: Any) -> Any:
        item = self.get(ext_id)
        if not isinstance(value, dict):
            raise HostError("bad_request", f"a configuration must be a JSON object, got {type(value).__name__}.")
        write_atomic(os.path.join(item.path, "config.json"), json.dumps(value, indent=2).encode() + b"\n")
        self.events.emit("config_saved", id=ext_id, version=item.version)
        return value

    def shutdown(self) -> None:
        self.supervisor.stop_all(reason="shutdown")


def _tail(path: str, limit: int = 600) -> str:
    try:
        with open(path, "rb") as handle:
            handle.seek(0, os.SEEK_END)
            size = handle.tell()
            handle.seek(max(0, size - limit))
            return handle.read().decode("utf-8", "replace")
    except OSError:
        return ""


__all__ = ["Agent", "Installed"]
