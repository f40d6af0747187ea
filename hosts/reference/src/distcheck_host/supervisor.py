"""Archive extension processes: minimal environment (ARC-13), config.json (ARC-14), start, stop
timing (ARC-15) and exit bookkeeping.

Stop sequence (ARC-15): SIGTERM to the process group, poll every `poll_interval` (50 ms), SIGKILL the
moment `stop.grace_seconds` have passed, then confirm the exit within `kill_confirm` (1 s). A stop the
host asked for records no exit information; an exit nobody asked for records `{"code"}` or
`{"signal"}` and leaves the extension in state `error`.
"""

from __future__ import annotations

import json
import logging
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from typing import Any

from .errors import HostError
from .events import EventLog
from .extension_config import initial_config
from .fsutil import integrity_hash, write_atomic

log = logging.getLogger("distcheck_host.supervisor")

ENV_CONFIG_PATH = "DISTCHECK_CONFIG_PATH"
ENV_DATA_DIR = "DISTCHECK_DATA_DIR"
FALLBACK_PATH = "/usr/local/bin:/usr/bin:/bin"


@dataclass
class Run:
    """What the supervisor knows about one extension id."""

    ext_id: str
    version: str
    state: str = "installed"  # installed | running | stopped | error
    pid: int | None = None
    exit: dict[str, int] | None = None
    popen: subprocess.Popen | None = None
    exited: threading.Event = field(default_factory=threading.Event)
    stop_requested: bool = False
    grace_seconds: int = 10
    started_at: float = 0.0
    stop_lock: threading.Lock = field(default_factory=threading.Lock)


def filtered_path(path: str | None) -> str:
    """Absolute, existing directories only, each once; relative entries ('.', '') are dropped."""
    seen: list[str] = []
    for entry in (path or "").split(os.pathsep):
        if entry and os.path.isabs(entry) and os.path.isdir(entry) and entry not in seen:
            seen.append(entry)
    return os.pathsep.join(seen) or FALLBACK_PATH


def minimal_env(version_dir: str, manifest: dict[str, Any], host_env: dict[str, str] | None = None) -> dict[str, str]:
    host_env = dict(os.environ) if host_env is None else host_env
    env = {
        "HOME": host_env.get("HOME") or os.path.expanduser("~"),
        "PATH": filtered_path(host_env.get("PATH")),
        "TMPDIR": host_env.get("TMPDIR") or tempfile.gettempdir(),
        ENV_CONFIG_PATH: os.path.join(version_dir, "config.json"),
        ENV_DATA_DIR: os.path.join(version_dir, "data"),
    }
    env.update(manifest.get("env") or {})
    return env


def exit_info(returncode: int) -> dict[str, int]:
    return {"signal": -returncode} if returncode < 0 else {"code": returncode}


def ensure_config(version_dir: str, manifest: dict[str, Any]) -> str:
    """Write config.json from the schema defaults unless a saved configuration exists (ARC-14)."""
    path = os.path.join(version_dir, "config.json")
    if not os.path.exists(path):
        config = initial_config(os.path.join(version_dir, "code"), manifest)
        write_atomic(path, json.dumps(config, indent=2).encode() + b"\n")
    return path


def read_integrity(version_dir: str) -> str | None:
    try:
        with open(os.path.join(version_dir, ".integrity"), encoding="utf-8") as handle:
            return handle.read().strip()
    except OSError:
        return None


class Supervisor:
    def __init__(self, config, events: EventLog) -> None:
        self.config = config
        self.events = events
        self._lock = threading.Lock()
        self._runs: dict[str, Run] = {}

    # -- queries --------------------------------------------------------------------------------

    def run_of(self, ext_id: str) -> Run | None:
        with self._lock:
            return self._runs.get(ext_id)

    def is_running(self, ext_id: str) -> bool:
        run = self.run_of(ext_id)
        return run is not None and run.state == "running"

    def running_ids(self) -> list[str]:
        with self._lock:
            return [run.ext_id for run in self._runs.values() if run.state == "running"]

    def forget(self, ext_id: str) -> None:
        with self._lock:
            self._runs.pop(ext_id, None)

    def status(self, ext_id: str, version: str) -> dict[str, Any]:
        run = self.run_of(ext_id)
        if run is None or run.version != version:
            return {"state": "installed", "pid": None, "exit": None}
        return {"state": run.state, "pid": run.pid if run.state == "running" else None, "exit": run.exit}

    # -- start ----------------------------------------------------------------------------------

    def start(self, ext_id: str, version: str, version_dir: str, manifest: dict[str, Any]) -> Run:
        host = manifest["host"]
        if host["type"] != "agent":
            raise HostError(
                "not_runnable",
                f"{ext_id} {version} is a {host['type']!r} extension; only agent extensions run as processes.",
            )
        with self._lock:
            current = self._runs.get(ext_id)
            if current is not None and current.state == "running":
                raise HostError(
                    "already_running",
                    f"{ext_id} {current.version} is already running as pid {current.pid}; stop it first.",
                )
            run = Run(ext_id, version, state="starting", grace_seconds=manifest["stop"]["grace_seconds"])
            self._runs[ext_id] = run
        try:
            self._spawn(run, version_dir, manifest)
        except BaseException:
            with self._lock:
                if self._runs.get(ext_id) is run:
                    if current is not None:
                        self._runs[ext_id] = current
                    else:
                        del self._runs[ext_id]
            raise
        return run

    def _spawn(self, run: Run, version_dir: str, manifest: dict[str, Any]) -> None:
        code_dir = os.path.join(version_dir, "code")
        recorded = read_integrity(version_dir)
        actual = integrity_hash(code_dir)
        if recorded != actual:
            raise HostError(
                "integrity_mismatch",
                f"code of {run.ext_id} {run.version} in {code_dir} hashes to {actual}, but {recorded or 'nothing'} "
                "was recorded at install; it was modified after install. Reinstall the extension.",
            )
        agent = manifest["host"]["agent"]
        entry = os.path.join(code_dir, *agent["entry"].split("/"))
        workdir = os.path.normpath(os.path.join(code_dir, *manifest["workdir"].split("/")))
        if not os.path.isfile(entry):
            raise HostError("start_failed", f"entry {agent['entry']!r} of {run.ext_id} does not exist in {code_dir}.")
        if not os.path.isdir(workdir):
            raise HostError("start_failed", f"workdir {manifest['workdir']!r} of {run.ext_id} is not a directory in {code_dir}.")
        ensure_config(version_dir, manifest)
        os.makedirs(os.path.join(version_dir, "data"), exist_ok=True)
        env = minimal_env(version_dir, manifest)
        python = shutil.which("python3", path=env["PATH"]) or sys.executable
        log_path = os.path.join(version_dir, "extension.log")
        self.events.emit("start", id=run.ext_id, version=run.version, entry=agent["entry"], cwd=workdir)
        with open(log_path, "ab") as log_file:
            log_file.write(f"--- distcheck-host: starting {run.ext_id} {run.version}: {python} {entry}\n".encode())
            log_file.flush()
            try:
                popen = subprocess.Popen(
                    # -B: never write __pycache__ into the read-only code/ (root ignores the mode),
                    # which would change its integrity hash and refuse the next start (ARC-08).
                    [python, "-B", entry],
                    cwd=workdir,
                    env=env,
                    stdin=subprocess.DEVNULL,
                    stdout=log_file,
                    stderr=subprocess.STDOUT,
                    start_new_session=True,
                    close_fds=True,
                )
            except OSError as exc:
                raise HostError("start_failed", f"could not start {python} {entry} for {run.ext_id}: {exc}.") from None
        run.popen = popen
        run.pid = popen.pid
        run.started_at = time.monotonic()
        run.state = "running"
        self.events.emit("started", id=run.ext_id, version=run.version, pid=popen.pid)
        threading.Thread(target=self._watch, args=(run,), name=f"watch-{run.ext_id}", daemon=True).start()

    def _watch(self, run: Run) -> None:
        assert run.popen is not None
        returncode = run.popen.wait()
        info = exit_info(returncode)
        _kill_group(run.pid, signal.SIGKILL)  # nothing the extension spawned outlives it
        expected = run.stop_requested
        if expected:
            run.state = "stopped"
            run.exit = None
        else:
            run.state = "error"
            run.exit = info
        self.events.emit("exit", id=run.ext_id, version=run.version, pid=run.pid, expected=expected, **info)
        if not expected:
            log.warning(
                "%s %s (pid %s) exited unexpectedly with %s; see its extension.log",
                run.ext_id, run.version, run.pid, info,
            )
        run.exited.set()

    # -- stop -----------------------------------------------------------------------------------

    def stop(self, ext_id: str, reason: str = "user") -> Run | None:
        """ARC-15 stop; returns the Run (state stopped) or None when nothing was running."""
        run = self.run_of(ext_id)
        if run is None or run.popen is None:
            return run
        with run.stop_lock:
            if run.exited.is_set():
                return run
            run.stop_requested = True
            poll = self.config.poll_interval
            confirm = self.config.kill_confirm
            self.events.emit("stop_requested", id=ext_id, version=run.version, pid=run.pid, reason=reason,
                             grace_seconds=run.grace_seconds)
            t0 = time.monotonic()
            _kill_group(run.pid, signal.SIGTERM)
            self.events.emit("sigterm", id=ext_id, pid=run.pid)
            deadline = t0 + run.grace_seconds
            polls = 0
            while not run.exited.is_set():
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    break
                if run.exited.wait(min(poll, remaining)):
                    break
                polls += 1
                self.events.emit("poll", id=ext_id, pid=run.pid, n=polls)
            if not run.exited.is_set():
                _kill_group(run.pid, signal.SIGKILL)
                self.events.emit("sigkill", id=ext_id, pid=run.pid,
                                 after_ms=round((time.monotonic() - t0) * 1000, 1))
                if not run.exited.wait(confirm):
                    log.error("%s pid %s did not exit within %.1f s of SIGKILL", ext_id, run.pid, confirm)
            self.events.emit("stopped", id=ext_id, version=run.version, pid=run.pid,
                             elapsed_ms=round((time.monotonic() - t0) * 1000, 1))
            run.state = "stopped"
            run.exit = None
        return run

    def stop_all(self, reason: str) -> None:
        """Stop every running extension in parallel (HST-03)."""
        threads = [
            threading.Thread(target=self.stop, args=(ext_id, reason), name=f"stop-{ext_id}", daemon=True)
            for ext_id in self.running_ids()
        ]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()

    def longest_grace(self) -> float:
        with self._lock:
            graces = [run.grace_seconds for run in self._runs.values() if run.state == "running"]
        return float(max(graces, default=0))


def _kill_group(pid: int | None, sig: int) -> None:
    if pid is None:
        return
    try:
        os.killpg(pid, sig)
    except (ProcessLookupError, PermissionError):
        pass
