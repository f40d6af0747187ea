import json
import os
import stat
import time

from distcheck_host.agent import Agent
from distcheck_host.errors import HostError
from distcheck_host.events import EventLog

from .helpers import TempDirTest, config, make_tar, make_zip, sha256

RUNS = """
import signal, sys, time
signal.signal(signal.SIGTERM, lambda *a: sys.exit(0))
while True:
    time.sleep(0.05)
"""
FAILS = "import sys\nsys.exit(3)\n"


def manifest(version: str, extra: str = "") -> bytes:
    return (f'name = "Demo"\nversion = "{version}"\n{extra}\n[host]\ntype = "agent"\n[host.agent]\nentry = "main.py"\n'
            '[stop]\ngrace_seconds = 1\n').encode()


class AgentTest(TempDirTest):
    def setUp(self) -> None:
        super().setUp()
        self.data = self.path("data")
        self.events = EventLog()
        self.agent = Agent(config(data_dir=self.data), self.events)
        self.agent.load()

    def tearDown(self) -> None:
        self.agent.shutdown()
        super().tearDown()

    def archive(self, name: str, version: str = "1.0.0", script: str = RUNS, extra: str = "", members=None) -> dict:
        self.counter = getattr(self, "counter", 0) + 1
        os.makedirs(self.path(f"src{self.counter}"))
        path = self.path(f"src{self.counter}", name)
        members = members if members is not None else [("extension.toml", manifest(version, extra)), ("main.py", script.encode())]
        (make_zip if name.endswith(".zip") else make_tar)(path, members)
        return {"source": path, "sha256": sha256(path)}

    def assertRefused(self, body: dict, code: str) -> HostError:
        with self.assertRaises(HostError) as caught:
            self.agent.install(body)
        self.assertEqual(caught.exception.code, code, caught.exception.message)
        self.assertEqual(os.listdir(os.path.join(self.data, "tmp")), [], "staging must be removed")
        return caught.exception

    def files_under(self, root: str) -> list[str]:
        return sorted(os.path.relpath(os.path.join(d, f), root) for d, _, fs in os.walk(root) for f in fs)


class Install(AgentTest):
    def test_installs_read_only_with_integrity_and_starts(self) -> None:
        result = self.agent.install(self.archive("Sensor_Monitor-1.0.0.tar.gz"))
        self.assertEqual((result["id"], result["version"], result["state"]), ("local.sensor-monitor", "1.0.0", "running"))
        version_dir = os.path.join(self.data, "extensions", "local.sensor-monitor", "1.0.0")
        self.assertEqual(result["path"], version_dir)
        code = os.path.join(version_dir, "code")
        self.assertEqual(sorted(os.listdir(code)), ["extension.toml", "main.py"])
        self.assertFalse(os.stat(code).st_mode & stat.S_IWUSR)
        self.assertFalse(os.stat(os.path.join(code, "main.py")).st_mode & 0o222)
        with open(os.path.join(version_dir, ".integrity")) as handle:
            self.assertTrue(handle.read().startswith("sha256:"))
        self.assertTrue(os.path.isfile(os.path.join(version_dir, "config.json")))
        self.assertEqual(self.agent.stop("local.sensor-monitor")["state"], "stopped")
        self.assertEqual(self.agent.start("local.sensor-monitor")["state"], "running")
        with self.assertRaises(HostError) as caught:
            self.agent.start("local.sensor-monitor")
        self.assertEqual(caught.exception.code, "already_running")

    def test_checksum_mismatch_leaves_no_trace(self) -> None:
        body = self.archive("demo-1.0.0.tar.gz")
        body["sha256"] = "0" * 64
        self.assertRefused(body, "checksum_mismatch")
        self.assertEqual(os.listdir(os.path.join(self.data, "extensions")), [])

    def test_refusals_keep_the_previous_version_running(self) -> None:
        first = self.agent.install(self.archive("demo-1.0.0.tar.gz"))
        pid = first["pid"]
        before = self.files_under(self.data)
        bad = [
            ({**self.archive("demo-2.0.0.tar.gz", "2.0.0"), "sha256": "1" * 64}, "checksum_mismatch"),
            (self.archive("demo-2.0.0.tar.gz", "2.0.0", members=[("extension.toml", manifest("2.0.0")), ("../evil", b"x")]), "unsafe_entry"),
            (self.archive("demo-2.0.0.tar.gz", "2.0.0", members=[("demo/extension.toml", manifest("2.0.0"))]), "manifest_not_at_root"),
            (self.archive("demo-2.0.0.tar.gz", "2.0.0", extra='[core]\nversion = ">=99.0.0"'), "incompatible_host_version"),
            (self.archive("demo-2.0.0.tar.gz", "2.0.0", extra='[env]\nDISTCHECK_CONFIG_PATH = "/etc/passwd"'), "reserved_env_key"),
            (self.archive("demo-2.0.0.tar.gz", "2.0"), "manifest_invalid"),
            (self.archive("demo-2.0.0.rar"), "unsupported_format"),
        ]
        for body, code in bad:
            with self.subTest(code=code):
                error = self.assertRefused(body, code)
                if code == "incompatible_host_version":
                    self.assertIn(">=99.0.0", error.message)
                    self.assertIn("25.1.0", error.message)
        self.assertEqual(self.files_under(self.data), before)
        status = self.agent.status("local.demo")
        self.assertEqual((status["version"], status["state"], status["pid"]), ("1.0.0", "running", pid))
        self.assertFalse(os.path.exists(os.path.join(self.data, "..", "evil")))

    def test_same_version_twice(self) -> None:
        self.agent.install(self.archive("demo-1.0.0.tar.gz"))
        self.assertRefused(self.archive("demo-1.0.0.zip"), "already_installed")

    def test_platform_candidates(self) -> None:
        candidates = [self.archive("demo-1.0.0-linux-aarch64.tar.gz"), self.archive("demo-1.0.0-universal.zip"),
                      self.archive("demo-1.0.0-linux-x86_64.tar.gz")]
        result = self.agent.install({"candidates": candidates})
        self.assertEqual((result["platform"], result["id"]), ("linux-x86_64", "local.demo"))
        self.assertRefused({"candidates": [self.archive("demo-1.0.0-darwin-arm64.tar.gz")]}, "no_platform_package")

    def test_ids_from_request_and_repository(self) -> None:
        result = self.agent.install({**self.archive("whatever.tar.gz"), "id": "acme.sensor"})
        self.assertEqual(result["id"], "acme.sensor")
        result = self.agent.install(self.archive("x.tar.gz", extra='repository = "https://github.com/Acme/CAN_Tool"'))
        self.assertEqual(result["id"], "acme.can-tool")
        self.assertRefused({**self.archive("y.tar.gz"), "id": "Not Valid"}, "manifest_invalid")


class Upgrade(AgentTest):
    def test_upgrade_carries_config_and_replaces_old(self) -> None:
        self.agent.install(self.archive("demo-1.0.0.tar.gz"))
        self.agent.save_config("local.demo", {"saved": True})
        result = self.agent.install(self.archive("demo-1.1.0.tar.gz", "1.1.0"))
        self.assertEqual((result["version"], result["state"], result["previous_version"]), ("1.1.0", "running", "1.0.0"))
        self.assertEqual(self.agent.read_config("local.demo"), {"saved": True})
        self.assertFalse(os.path.exists(os.path.join(self.data, "extensions", "local.demo", "1.0.0")))
        names = [e["event"] for e in self.events.snapshot()]
        self.assertLess(names.index("upgrade_started"), names.index("stopped"))
        self.assertLess(names.index("stopped"), len(names) - 1 - names[::-1].index("started"))

    def test_failed_start_rolls_back(self) -> None:
        first = self.agent.install(self.archive("demo-1.0.0.tar.gz"))
        error = self.assertRefused(self.archive("demo-2.0.0.tar.gz", "2.0.0", script=FAILS), "start_failed")
        self.assertIn("{'code': 3}", error.message)
        self.assertIn("1.0.0 was restored (running)", error.message)
        status = self.agent.status("local.demo")
        self.assertEqual((status["version"], status["state"]), ("1.0.0", "running"))
        self.assertNotEqual(status["pid"], first["pid"])
        self.assertEqual(sorted(os.listdir(os.path.join(self.data, "extensions", "local.demo"))), ["1.0.0", "state.json"])
        self.assertIn("rolled_back", [e["event"] for e in self.events.snapshot()])


class Restart(AgentTest):
    def test_state_survives_a_new_agent(self) -> None:
        self.agent.install(self.archive("demo-1.0.0.tar.gz"))
        self.agent.save_config("local.demo", {"kept": 1})
        self.agent.shutdown()
        again = Agent(config(data_dir=self.data), EventLog())
        again.load()
        self.assertEqual([i.ext_id for i in again.list_installed()], ["local.demo"])
        again.autostart()
        try:
            self.assertEqual(again.status("local.demo")["state"], "running")
            self.assertEqual(again.read_config("local.demo"), {"kept": 1})
        finally:
            again.shutdown()
