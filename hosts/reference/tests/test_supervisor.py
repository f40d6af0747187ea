import json
import os
import signal
import sys
import textwrap
import time
import unittest

from distcheck_host.events import EventLog
from distcheck_host.extension_config import schema_defaults
from distcheck_host.fsutil import integrity_hash, make_read_only
from distcheck_host.manifest import validate_manifest
from distcheck_host.supervisor import Supervisor, filtered_path, minimal_env

from .helpers import TempDirTest, config

IGNORES_TERM = """
import json, os, signal, sys, time
signal.signal(signal.SIGTERM, signal.SIG_IGN)
with open(os.path.join(os.environ["DISTCHECK_DATA_DIR"], "env.json"), "w") as f:
    json.dump({"env": dict(os.environ), "cwd": os.getcwd()}, f)
print("ready", flush=True)
while True:
    time.sleep(0.05)
"""

EXITS_ON_TERM = """
import signal, sys, time
signal.signal(signal.SIGTERM, lambda *a: sys.exit(0))
print("ready", flush=True)
while True:
    time.sleep(0.05)
"""

CRASHES = """
import sys, time
time.sleep(0.2)
sys.exit(7)
"""

SEGFAULTS = """
import os, signal, time
time.sleep(0.2)
os.kill(os.getpid(), signal.SIGSEGV)
"""


class Helpers(TempDirTest):
    def install(self, script: str, grace: int = 1, **manifest_extra) -> tuple[str, dict]:
        version_dir = self.path("ext", "1.0.0")
        code = os.path.join(version_dir, "code")
        os.makedirs(code)
        with open(os.path.join(code, "main.py"), "w") as handle:
            handle.write(textwrap.dedent(script))
        manifest = validate_manifest({"name": "T", "version": "1.0.0", "stop": {"grace_seconds": grace},
                                      "host": {"type": "agent", "agent": {"entry": "main.py"}}, **manifest_extra})
        if manifest["config"]:
            with open(os.path.join(code, "config.schema.json"), "w") as handle:
                json.dump(manifest_extra["config_schema"], handle)
        make_read_only(code)
        with open(os.path.join(version_dir, ".integrity"), "w") as handle:
            handle.write(integrity_hash(code) + "\n")
        return version_dir, manifest

    def wait_for(self, predicate, timeout: float = 5.0) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if predicate():
                return
            time.sleep(0.02)
        self.fail("condition not reached in time")


class StopTiming(Helpers):
    def test_sigkill_at_grace_when_sigterm_is_ignored(self) -> None:
        events = EventLog()
        supervisor = Supervisor(config(poll_interval=0.05, kill_confirm=1.0), events)
        version_dir, manifest = self.install(IGNORES_TERM, grace=1)
        run = supervisor.start("t.ignore", "1.0.0", version_dir, manifest)
        self.wait_for(lambda: os.path.exists(os.path.join(version_dir, "data", "env.json")))
        started = time.monotonic()
        supervisor.stop("t.ignore")
        elapsed = time.monotonic() - started
        by_name = {}
        for event in events.snapshot():
            by_name.setdefault(event["event"], []).append(event)
        sigterm = by_name["sigterm"][0]["t_ms"]
        sigkill = by_name["sigkill"][0]["t_ms"]
        self.assertAlmostEqual(sigkill - sigterm, 1000, delta=120)
        polls = [e["t_ms"] for e in by_name["poll"]]
        self.assertGreaterEqual(len(polls), 15)
        gaps = [b - a for a, b in zip([sigterm] + polls, polls)]
        self.assertLess(max(gaps), 120)
        self.assertGreater(min(gaps), 30)
        self.assertLess(elapsed, 1 + 1.0 + 0.3)  # grace + kill confirmation
        self.assertEqual(run.state, "stopped")
        self.assertIsNone(run.exit, "a requested stop records no exit information")
        with self.assertRaises(ProcessLookupError):
            os.kill(run.pid, 0)

    def test_graceful_exit_needs_no_sigkill(self) -> None:
        events = EventLog()
        supervisor = Supervisor(config(), events)
        version_dir, manifest = self.install(EXITS_ON_TERM, grace=5)
        run = supervisor.start("t.nice", "1.0.0", version_dir, manifest)
        time.sleep(0.5)
        started = time.monotonic()
        supervisor.stop("t.nice")
        self.assertLess(time.monotonic() - started, 1.0)
        self.assertNotIn("sigkill", [e["event"] for e in events.snapshot()])
        self.assertIsNone(run.exit)


class UnexpectedExit(Helpers):
    def test_exit_code_recorded(self) -> None:
        supervisor = Supervisor(config(), EventLog())
        version_dir, manifest = self.install(CRASHES)
        run = supervisor.start("t.crash", "1.0.0", version_dir, manifest)
        self.assertTrue(run.exited.wait(5))
        self.assertEqual((run.state, run.exit), ("error", {"code": 7}))

    def test_signal_recorded(self) -> None:
        supervisor = Supervisor(config(), EventLog())
        version_dir, manifest = self.install(SEGFAULTS)
        run = supervisor.start("t.segv", "1.0.0", version_dir, manifest)
        self.assertTrue(run.exited.wait(5))
        self.assertEqual((run.state, run.exit), ("error", {"signal": signal.SIGSEGV}))


class Environment(Helpers):
    def test_minimal_environment_and_cwd(self) -> None:
        os.environ["DISTCHECK_TEST_LEAK"] = "secret"
        try:
            supervisor = Supervisor(config(), EventLog())
            version_dir, manifest = self.install(IGNORES_TERM, env={"MY_VAR": "x"}, workdir=".")
            supervisor.start("t.env", "1.0.0", version_dir, manifest)
            path = os.path.join(version_dir, "data", "env.json")
            self.wait_for(lambda: os.path.exists(path) and os.path.getsize(path) > 0)
            time.sleep(0.1)
            with open(path) as handle:
                seen = json.load(handle)
            supervisor.stop("t.env")
        finally:
            del os.environ["DISTCHECK_TEST_LEAK"]
        env = seen["env"]
        self.assertNotIn("DISTCHECK_TEST_LEAK", env)
        self.assertEqual(env["DISTCHECK_CONFIG_PATH"], os.path.join(version_dir, "config.json"))
        self.assertEqual(env["DISTCHECK_DATA_DIR"], os.path.join(version_dir, "data"))
        self.assertEqual(env["MY_VAR"], "x")
        # The exact key set is checked on minimal_env() below: a python3 launcher (a pyenv shim, locale
        # coercion) may add variables of its own between the host and the extension.
        self.assertFalse({"PYTHONPATH", "DISTCHECK_HOST_CONFIG"} & set(env))
        self.assertEqual(os.path.realpath(seen["cwd"]), os.path.realpath(os.path.join(version_dir, "code")))

    def test_path_filter(self) -> None:
        self.assertEqual(filtered_path(f".:/usr/bin::relative:/definitely/missing:/usr/bin:{self.tmp}"), f"/usr/bin:{self.tmp}")
        self.assertEqual(filtered_path(""), "/usr/local/bin:/usr/bin:/bin")
        env = minimal_env("/data/x/1.0.0", {"env": {"A": "b"}}, {"HOME": "/home/u", "PATH": "/usr/bin", "SECRET": "1"})
        self.assertEqual(set(env), {"HOME", "PATH", "TMPDIR", "DISTCHECK_CONFIG_PATH", "DISTCHECK_DATA_DIR", "A"})


class ConfigAndIntegrity(Helpers):
    SCHEMA = {"type": "object", "properties": {
        "interval": {"type": "number", "default": 60},
        "apiKey": {"type": "string"},
        "connection": {"type": "object", "properties": {"host": {"type": "string", "default": "localhost"},
                                                        "port": {"type": "integer", "default": 5000},
                                                        "tls": {"type": "object", "properties": {"on": {"default": False}}}}},
        "empty": {"type": "object", "properties": {"x": {"type": "string"}}},
        "preset": {"type": "object", "default": {"a": 1}, "properties": {"b": {"default": 2}}},
    }}

    def test_schema_defaults_nested(self) -> None:
        self.assertEqual(schema_defaults(self.SCHEMA), {
            "interval": 60,
            "connection": {"host": "localhost", "port": 5000, "tls": {"on": False}},
            "preset": {"a": 1, "b": 2},
        })

    def test_config_written_once_and_saved_config_survives(self) -> None:
        supervisor = Supervisor(config(), EventLog())
        version_dir, manifest = self.install(EXITS_ON_TERM, config={}, config_schema=self.SCHEMA)
        supervisor.start("t.cfg", "1.0.0", version_dir, manifest)
        supervisor.stop("t.cfg")
        path = os.path.join(version_dir, "config.json")
        with open(path) as handle:
            self.assertEqual(json.load(handle)["connection"]["port"], 5000)
        with open(path, "w") as handle:
            json.dump({"interval": 5}, handle)
        supervisor.start("t.cfg", "1.0.0", version_dir, manifest)
        supervisor.stop("t.cfg")
        with open(path) as handle:
            self.assertEqual(json.load(handle), {"interval": 5})

    def test_modified_code_is_refused(self) -> None:
        from distcheck_host.errors import HostError

        supervisor = Supervisor(config(), EventLog())
        version_dir, manifest = self.install(EXITS_ON_TERM)
        main = os.path.join(version_dir, "code", "main.py")
        os.chmod(os.path.dirname(main), 0o755)
        os.chmod(main, 0o644)
        with open(main, "a") as handle:
            handle.write("# tampered\n")
        with self.assertRaises(HostError) as caught:
            supervisor.start("t.tamper", "1.0.0", version_dir, manifest)
        self.assertEqual(caught.exception.code, "integrity_mismatch")
        self.assertIsNone(supervisor.run_of("t.tamper"))


if __name__ == "__main__":
    unittest.main()
