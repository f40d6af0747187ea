import os
import tempfile
import unittest

from distcheck_host.config import KEYS_BY_NAME, load_config
from distcheck_host.errors import HostError


class Config(unittest.TestCase):
    def setUp(self) -> None:
        self.tmp = tempfile.mkdtemp(prefix="dc-config-")
        self.env = {"DISTCHECK_HOST_BUILD_FILE": os.path.join(self.tmp, "missing-build.toml")}

    def tearDown(self) -> None:
        import shutil

        shutil.rmtree(self.tmp, ignore_errors=True)

    def write(self, name: str, text: str) -> str:
        path = os.path.join(self.tmp, name)
        with open(path, "w", encoding="utf-8") as handle:
            handle.write(text)
        return path

    def test_documented_defaults(self) -> None:
        config = load_config(env=self.env, config_file=None) if not os.path.exists("/etc/distcheck-host/config.toml") \
            else load_config(env={**self.env, "DISTCHECK_HOST_CONFIG": self.write("empty.toml", "")})
        self.assertEqual(config.bind, "0.0.0.0")
        self.assertEqual(config.port, 8765)
        self.assertEqual(config.data_dir, "/var/lib/distcheck-host")
        self.assertEqual(config.entry_point_group, "distcheck.extensions")
        self.assertEqual(config.disabled, [])
        self.assertEqual(config.graceful_timeout, 10.0)
        self.assertEqual(config.max_download_bytes, 500 * 1024 * 1024)
        self.assertEqual(config.download_timeout, 60.0)
        self.assertEqual(config.max_extracted_bytes, 2 * 1024 ** 3)
        self.assertEqual(config.max_files, 10000)
        self.assertEqual(config.poll_interval, 0.05)
        self.assertEqual(config.kill_confirm, 1.0)
        self.assertEqual(config.core_version, "0.8.0")
        self.assertEqual(config.agent_version, "25.1.0")
        self.assertTrue(all(source == "default" for source in config.sources.values()))

    def test_precedence_cli_env_file_default(self) -> None:
        path = self.write("c.toml", 'port = 1000\ngraceful_timeout = 3\ndisabled = ["a.b"]\nmax_files = 5\n')
        env = {**self.env, "DISTCHECK_HOST_PORT": "2000", "DISTCHECK_HOST_DISABLED": "x.y, z.w",
               "DISTCHECK_HOST_GRACEFUL_TIMEOUT": "4.5"}
        config = load_config(cli={"port": 3000}, env=env, config_file=path)
        self.assertEqual((config.port, config.sources["port"]), (3000, "cli"))
        self.assertEqual((config.graceful_timeout, config.sources["graceful_timeout"]), (4.5, "env"))
        self.assertEqual((config.disabled, config.sources["disabled"]), (["x.y", "z.w"], "env"))
        self.assertEqual((config.max_files, config.sources["max_files"]), (5, "file"))
        self.assertEqual(config.sources["bind"], "default")

    def test_config_file_from_environment(self) -> None:
        path = self.write("c.toml", 'entry_point_group = "other.group"\n')
        config = load_config(env={**self.env, "DISTCHECK_HOST_CONFIG": path})
        self.assertEqual(config.entry_point_group, "other.group")
        self.assertEqual(config.file, path)

    def test_build_file_sets_versions(self) -> None:
        build = self.write("build.toml", 'core_version = "0.8.0rc1"\nagent_version = "26.0.3"\nmutant = "x"\n')
        config = load_config(env={"DISTCHECK_HOST_BUILD_FILE": build, "DISTCHECK_HOST_CONFIG": self.write("e.toml", "")})
        self.assertEqual(config.core_version, "0.8.0rc1")
        self.assertEqual(config.agent_version, "26.0.3")
        self.assertEqual(config.mutant, "x")  # only reported (/api/version), never a setting
        self.assertNotIn("mutant", config.as_json()["values"])

    def test_a_normal_build_names_no_mutant(self) -> None:
        self.assertIsNone(load_config(env={**self.env, "DISTCHECK_HOST_CONFIG": self.write("e.toml", "")}).mutant)

    def test_errors_name_key_and_origin(self) -> None:
        with self.assertRaises(HostError) as caught:
            load_config(env={**self.env, "DISTCHECK_HOST_PORT": "eighty"}, config_file=self.write("e.toml", ""))
        self.assertEqual(caught.exception.code, "config_invalid")
        self.assertIn("DISTCHECK_HOST_PORT", caught.exception.message)
        with self.assertRaises(HostError) as caught:
            load_config(env=self.env, config_file=self.write("u.toml", "prot = 1\n"))
        self.assertIn("'prot'", caught.exception.message)
        with self.assertRaises(HostError) as caught:
            load_config(cli={"agent_version": "25.1"}, env=self.env, config_file=self.write("e.toml", ""))
        self.assertIn("SemVer", caught.exception.message)
        with self.assertRaises(HostError):
            load_config(cli={"port": 70000}, env=self.env, config_file=self.write("e.toml", ""))

    def test_every_key_documented_in_interface(self) -> None:
        interface = os.path.join(os.path.dirname(__file__), "..", "INTERFACE.md")
        with open(interface, encoding="utf-8") as handle:
            text = handle.read()
        for name in KEYS_BY_NAME:
            self.assertTrue(f"`{name}`" in text, f"config key {name} is not documented in INTERFACE.md")


if __name__ == "__main__":
    unittest.main()
