"""End to end: a real host process, a wheel extension installed into a temp site dir, an archive
extension installed over HTTP, then SIGTERM. Everything lives in a temp dir the test owns."""

from __future__ import annotations

import hashlib
import json
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
import unittest
import urllib.error
import urllib.request

from .helpers import make_tar

SRC = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "src")
GROUP = "distcheck.e2e"

PLUGIN = '''
import json, os
from distcheck_host.sdk import Extension

class Plugin(Extension):
    def __init__(self):
        super().__init__(package="dc_e2e_ext")

    def setup(self, host):
        host.add_route("GET", "/api/e2e/ping", lambda request: {"pong": request.query.get("q")})
        host.register_service("e2e.svc", object())
        host.register_operator("e2e.op", description="test operator")
        host.register_shutdown_callback(lambda: self._mark("first"))
        host.register_shutdown_callback(lambda: self._mark("second"))

    def _mark(self, name):
        with open(os.environ["E2E_SHUTDOWN_FILE"], "a") as handle:
            handle.write(name + "\\n")
'''

ARC_MAIN = '''
import json, os, signal, time
signal.signal(signal.SIGTERM, signal.SIG_IGN)  # force the host to SIGKILL at grace
line = json.dumps({"event": "process_start", "pid": os.getpid(), "env": dict(os.environ), "cwd": os.getcwd(),
                   "config": json.load(open(os.environ["DISTCHECK_CONFIG_PATH"]))})
fd = os.open(os.environ["E2E_WITNESS"], os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
os.write(fd, (line + "\\n").encode())
os.close(fd)
while True:
    time.sleep(0.1)
'''


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def write(path: str, text: str) -> None:
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "w", encoding="utf-8") as handle:
        handle.write(text)


def build_site(site: str) -> None:
    """An installed wheel, as pip would lay it out: the package plus its dist-info."""
    pkg = os.path.join(site, "dc_e2e_ext")
    write(os.path.join(pkg, "__init__.py"), "")
    write(os.path.join(pkg, "plugin.py"), PLUGIN)
    write(os.path.join(pkg, "extension.json"), json.dumps({
        "schema_version": 1, "id": "com.example.e2e", "name": "E2E", "version": "0.1.0",
        "requires_core_version": ">=0.7", "frontend": {"remote_entry": "remoteEntry.js"}}))
    write(os.path.join(pkg, "static", "remoteEntry.js"), "export const e2e = 1;\n")
    info = os.path.join(site, "dc_e2e_ext-0.1.0.dist-info")
    write(os.path.join(info, "METADATA"), "Metadata-Version: 2.1\nName: dc-e2e-ext\nVersion: 0.1.0\n")
    write(os.path.join(info, "entry_points.txt"),
          f"[{GROUP}]\ne2e = dc_e2e_ext.plugin:Plugin\nbroken = dc_e2e_missing.module:Plugin\n")
    write(os.path.join(info, "RECORD"), "")


class EndToEnd(unittest.TestCase):
    def setUp(self) -> None:
        self._tmp = tempfile.TemporaryDirectory(prefix="dc-e2e-")
        self.tmp = self._tmp.name
        self.site = os.path.join(self.tmp, "site")
        build_site(self.site)
        self.data = os.path.join(self.tmp, "data")
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.shutdown_file = os.path.join(self.tmp, "shutdown.txt")
        empty = os.path.join(self.tmp, "empty.toml")
        write(empty, "")
        env = dict(os.environ)
        env.update({
            "PYTHONPATH": os.pathsep.join([SRC, self.site] + ([env["PYTHONPATH"]] if env.get("PYTHONPATH") else [])),
            "DISTCHECK_HOST_BUILD_FILE": os.path.join(self.tmp, "no-build.toml"),
            "DISTCHECK_HOST_CONFIG": empty,
            "E2E_SHUTDOWN_FILE": self.shutdown_file,
        })
        self.log_path = os.path.join(self.tmp, "host.log")
        self.log = open(self.log_path, "wb")
        self.host = subprocess.Popen(
            [sys.executable, "-m", "distcheck_host", "serve", "--bind", "127.0.0.1", "--port", str(self.port),
             "--data-dir", self.data, "--entry-point-group", GROUP, "--graceful-timeout", "3"],
            env=env, stdout=self.log, stderr=subprocess.STDOUT)

    def tearDown(self) -> None:
        if self.host.poll() is None:
            self.host.kill()
            self.host.wait()
        self.log.close()
        from distcheck_host.fsutil import force_rmtree

        force_rmtree(self.tmp)
        self._tmp.cleanup()

    def call(self, method: str, path: str, body=None) -> tuple[int, object, bytes]:
        data = None if body is None else json.dumps(body).encode()
        request = urllib.request.Request(self.url + path, data=data, method=method)
        try:
            with urllib.request.urlopen(request, timeout=30) as response:
                raw = response.read()
                status = response.status
        except urllib.error.HTTPError as exc:
            raw, status = exc.read(), exc.code
            exc.close()
        try:
            return status, json.loads(raw), raw
        except ValueError:
            return status, None, raw

    def host_log(self) -> str:
        with open(self.log_path, encoding="utf-8", errors="replace") as handle:
            return handle.read()

    def wait_ready(self, timeout: float = 30.0) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            self.assertIsNone(self.host.poll(), self.host_log())
            try:
                status, body, _ = self.call("GET", "/readyz")
                if status == 200:
                    return
            except OSError:
                pass
            time.sleep(0.05)
        self.fail("host not ready in time:\n" + self.host_log())

    def test_whole_lifecycle(self) -> None:
        self.wait_ready()
        # WHL: discovery, isolation of a broken entry point, routes, static files.
        status, extensions, _ = self.call("GET", "/api/extensions")
        self.assertEqual(status, 200)
        self.assertEqual([e["id"] for e in extensions], ["com.example.e2e"])
        self.assertEqual(extensions[0]["remote_entry_url"], "/extensions/com.example.e2e/remoteEntry.js")
        self.assertEqual(extensions[0]["distribution"], "dc-e2e-ext")
        _, diagnostics, _ = self.call("GET", "/api/diagnostics")
        self.assertIn("entry_point_load_failed", [d["code"] for d in diagnostics])
        self.assertEqual(self.call("GET", "/api/e2e/ping?q=1")[1], {"pong": "1"})
        _, registry, _ = self.call("GET", "/api/registry")
        self.assertIn({"name": "e2e.svc", "owner": "com.example.e2e"}, registry["services"])
        status, _, raw = self.call("GET", "/extensions/com.example.e2e/remoteEntry.js")
        self.assertEqual((status, raw), (200, b"export const e2e = 1;\n"))
        for evil in ("..%2Fplugin.py", "%2e%2e/plugin.py", "%252e%252e%252fplugin.py", "..%5Cplugin.py"):
            status, body, raw = self.call("GET", "/extensions/com.example.e2e/" + evil)
            self.assertIn(status, (400, 403), evil)
            self.assertNotIn(b"Extension", raw)
            self.assertIn("error", body)
        _, config, _ = self.call("GET", "/api/config")
        self.assertEqual(config["sources"]["graceful_timeout"], "cli")
        self.assertEqual(config["sources"]["max_files"], "default")

        # ARC: a good install starts a process with the minimal environment.
        witness = os.path.join(self.tmp, "witness.jsonl")
        ext_dir = os.path.join(self.tmp, "arc")
        os.makedirs(ext_dir)
        manifest = ('name = "E2E Arc"\nversion = "1.0.0"\n[host]\ntype = "agent"\n[host.agent]\nentry = "main.py"\n'
                    f'[stop]\ngrace_seconds = 1\n[env]\nE2E_WITNESS = "{witness}"\n[config]\n')
        schema = json.dumps({"type": "object", "properties": {"interval": {"type": "number", "default": 60}}})
        good = make_tar(os.path.join(ext_dir, "E2E_Arc-1.0.0.tar.gz"), [
            ("extension.toml", manifest.encode()), ("main.py", ARC_MAIN.encode()), ("config.schema.json", schema.encode())])
        with open(good, "rb") as handle:
            digest = hashlib.sha256(handle.read()).hexdigest()
        status, installed, _ = self.call("POST", "/api/agent/install", {"source": good, "sha256": digest})
        self.assertEqual(status, 201, installed)
        self.assertEqual((installed["id"], installed["state"]), ("local.e2e-arc", "running"))
        deadline = time.monotonic() + 15
        while not (os.path.exists(witness) and os.path.getsize(witness)) and time.monotonic() < deadline:
            time.sleep(0.05)
        with open(witness, encoding="utf-8") as handle:
            line = json.loads(handle.readline())
        self.assertEqual(line["pid"], installed["pid"])
        self.assertEqual(line["config"], {"interval": 60})
        self.assertEqual(line["env"]["DISTCHECK_DATA_DIR"], os.path.join(installed["path"], "data"))
        self.assertNotIn("DISTCHECK_HOST_CONFIG", line["env"])
        self.assertNotIn("PYTHONPATH", line["env"])
        self.assertNotIn("E2E_SHUTDOWN_FILE", line["env"])

        # ARC-02: a wrong checksum installs nothing.
        bad = make_tar(os.path.join(ext_dir, "E2E_Bad-1.0.0.tar.gz"), [("extension.toml", manifest.encode()),
                                                                        ("main.py", b"")])
        status, body, _ = self.call("POST", "/api/agent/install", {"source": bad, "sha256": "0" * 64})
        self.assertEqual((status, body["error"]["code"]), (400, "checksum_mismatch"))
        self.assertFalse(os.path.exists(os.path.join(self.data, "extensions", "local.e2e-bad")))
        self.assertEqual(os.listdir(os.path.join(self.data, "tmp")), [])

        # HST-03: SIGTERM stops the archive extension (SIGKILL at its 1 s grace), runs the shutdown
        # callbacks last-first and exits within graceful_timeout (3) + the longest grace (1).
        started = time.monotonic()
        self.host.send_signal(signal.SIGTERM)
        code = self.host.wait(timeout=10)
        elapsed = time.monotonic() - started
        self.assertEqual(code, 0, self.host_log())
        self.assertLess(elapsed, 3 + 1 + 1.0, self.host_log())
        self.assertGreaterEqual(elapsed, 0.9, "the extension ignores SIGTERM, so the host must wait for the grace")
        with self.assertRaises(ProcessLookupError):
            os.kill(installed["pid"], 0)
        with open(self.shutdown_file, encoding="utf-8") as handle:
            self.assertEqual(handle.read().split(), ["second", "first"])
        log = self.host_log()
        self.assertIn("event sigkill", log)
        self.assertNotIn("Traceback", log)


if __name__ == "__main__":
    unittest.main()
