import unittest

from distcheck_host.errors import HostError
from distcheck_host.manifest import (
    archive_base_name,
    derive_id,
    id_problem,
    local_id,
    parse_manifest,
    validate_manifest,
)

MINIMAL_HOST = {"name": "My Extension", "version": "1.0.0", "host": {"type": "agent", "agent": {"entry": "main.py"}}}


def manifest(**changes):
    data = {key: (dict(value) if isinstance(value, dict) else value) for key, value in MINIMAL_HOST.items()}
    data.update(changes)
    return data


class Defaults(unittest.TestCase):
    def test_agent_defaults_arc10(self) -> None:
        m = validate_manifest(manifest())
        self.assertEqual(m["host"]["agent"]["python_version"], "3.11")
        self.assertEqual(m["host"]["agent"]["runtime"], "python")
        self.assertEqual(m["workdir"], ".")
        self.assertEqual(m["core"]["version"], ">=25.0.20")
        self.assertEqual(m["stop"]["grace_seconds"], 10)
        self.assertIsNone(m["config"])
        self.assertEqual(m["targets"], [])
        self.assertEqual(m["env"], {})
        self.assertEqual(m["keywords"], [])
        self.assertEqual(m["categories"], [])
        self.assertEqual(m["form"], "host")

    def test_app_default_host_range(self) -> None:
        m = validate_manifest(manifest(host={"type": "app", "app": {"entry": "dist/index.html"}}))
        self.assertEqual(m["core"]["version"], ">=26.0.3")
        self.assertEqual(m["host"]["app"]["kind"], "web_app")

    def test_config_schema_default_only_with_section(self) -> None:
        self.assertEqual(validate_manifest(manifest(config={}))["config"], {"schema": "config.schema.json"})
        self.assertEqual(validate_manifest(manifest(config={"schema": "s/c.json"}))["config"], {"schema": "s/c.json"})

    def test_legacy_runtime_form(self) -> None:
        m = parse_manifest('name = "Old"\nversion = "0.1.0"\n[runtime]\ntype = "python"\nentry = "main.py"\npython_version = "3.12"\n')
        self.assertEqual(m["form"], "runtime")
        self.assertEqual(m["host"], {"type": "agent", "agent": {"runtime": "python", "entry": "main.py",
                                                                "python_version": "3.12", "requirements": None}})
        self.assertEqual(m["core"]["version"], ">=25.0.20")

    def test_agent_subfields_and_top_level(self) -> None:
        m = validate_manifest(manifest(host={"type": "agent", "agent": {"entry": "main.py", "env": {"A": "1"},
                                                                        "stop": {"grace_seconds": 30}}},
                                       workdir="src", core={"version": "*"}))
        self.assertEqual(m["env"], {"A": "1"})
        self.assertEqual(m["stop"]["grace_seconds"], 30)
        self.assertEqual(m["workdir"], "src")
        self.assertEqual(m["core"]["version"], "*")


class Validation(unittest.TestCase):
    def assertRefused(self, data, code="manifest_invalid", needle=None):
        with self.assertRaises(HostError) as caught:
            validate_manifest(data)
        self.assertEqual(caught.exception.code, code)
        if needle:
            self.assertIn(needle, caught.exception.message)

    def test_required_fields(self) -> None:
        self.assertRefused(manifest(name="   "), needle="name")
        self.assertRefused(manifest(name=""), needle="name")
        self.assertRefused({"version": "1.0.0", "host": {"type": "agent", "agent": {"entry": "m.py"}}}, needle="name")
        self.assertRefused(manifest(version="1.0"), needle="SemVer")
        self.assertRefused(manifest(version="v1.0.0"), needle="SemVer")
        self.assertRefused({"name": "x", "version": "1.0.0"}, needle="[host]")
        self.assertRefused(manifest(host={"type": "agent", "agent": {}}), needle="entry")
        self.assertRefused(manifest(host={"type": "desktop"}), needle="type")

    def test_keyword_and_category_limits(self) -> None:
        validate_manifest(manifest(keywords=[f"k{i}" for i in range(20)], categories=[f"c{i}" for i in range(10)]))
        self.assertRefused(manifest(keywords=[f"k{i}" for i in range(21)]), needle="21 entries; the limit is 20")
        self.assertRefused(manifest(categories=[f"c{i}" for i in range(11)]), needle="limit is 10")
        self.assertRefused(manifest(keywords=["ok", ""]), needle="keywords[1]")
        self.assertRefused(manifest(categories=["  "]), needle="categories[0]")

    def test_grace_range(self) -> None:
        for good in (1, 300):
            validate_manifest(manifest(stop={"grace_seconds": good}))
        for bad in (0, 301, 2.5, True, "10"):
            with self.subTest(grace=bad):
                self.assertRefused(manifest(stop={"grace_seconds": bad}), needle="grace_seconds")

    def test_reserved_env_prefix(self) -> None:
        self.assertRefused(manifest(env={"DISTCHECK_DATA_DIR": "/x"}), code="reserved_env_key", needle="DISTCHECK_DATA_DIR")
        self.assertRefused(manifest(env={"distcheck_thing": "x"}), code="reserved_env_key")
        self.assertRefused(manifest(env={"GOOD": 1}), needle="must be a string")

    def test_paths_and_ranges(self) -> None:
        self.assertRefused(manifest(workdir="../x"), needle="'..'")
        self.assertRefused(manifest(workdir=".hidden"), needle="hidden")
        self.assertRefused(manifest(workdir="/abs"), needle="absolute")
        self.assertRefused(manifest(core={"version": ">=banana"}), needle="npm-style range")
        self.assertRefused(manifest(targets=["linux-sparc"]), needle="valid targets")
        self.assertRefused(manifest(repository="http://github.com/a/b"), needle="https")
        self.assertRefused(manifest(host={"type": "agent", "agent": {"entry": "m.py", "python_version": "3"}}),
                           needle="python_version")

    def test_bad_toml(self) -> None:
        with self.assertRaises(HostError) as caught:
            parse_manifest("name = ")
        self.assertEqual(caught.exception.code, "manifest_invalid")


class Ids(unittest.TestCase):
    def test_local_normalisation_from_the_seed(self) -> None:
        self.assertEqual(local_id("My Extension v2"), "local.my-extension-v2")
        self.assertEqual(local_id("Sensor_Monitor"), "local.sensor-monitor")
        self.assertEqual(local_id("CAN__BUS___Tool"), "local.can-bus-tool")
        self.assertEqual(local_id("--Edge--"), "local.edge")

    def test_id_rules(self) -> None:
        for good in ("acme.canbus-decoder", "john-doe.mqtt-bridge", "local.sensor-01"):
            self.assertIsNone(id_problem(good), good)
        for bad in ("Acme.CANBus", "acme.-canbus", "acme..canbus", "acme", "acme.canbus-", "acme.can_bus", ""):
            with self.subTest(id=bad):
                self.assertIsNotNone(id_problem(bad))

    def test_archive_base_name(self) -> None:
        self.assertEqual(archive_base_name("my-ext-1.0.0-linux-x86_64.tar.gz"), "my-ext")
        self.assertEqual(archive_base_name("Sensor_Monitor-2.1.0-beta.1-universal.tgz"), "Sensor_Monitor")
        self.assertEqual(archive_base_name("My Extension v2.zip"), "My Extension v2")
        self.assertEqual(archive_base_name("tool_1.2.3_macos_arm64.zip"), "tool")

    def test_derivation_order(self) -> None:
        self.assertEqual(derive_id("acme.tool", "https://github.com/x/y", "a.tar.gz"), ("acme.tool", "request"))
        self.assertEqual(derive_id(None, "https://github.com/Acme/CANBus_Decoder.git", "a.tar.gz"),
                         ("acme.canbus-decoder", "repository"))
        self.assertEqual(derive_id(None, None, "CAN__BUS___Tool-1.0.0-linux-x86_64.tar.gz"),
                         ("local.can-bus-tool", "local"))
        with self.assertRaises(HostError) as caught:
            derive_id("Bad.ID", None, "a.tar.gz")
        self.assertEqual(caught.exception.code, "manifest_invalid")
        self.assertIn("Bad.ID", caught.exception.message)


if __name__ == "__main__":
    unittest.main()


class ZelosHostRange(unittest.TestCase):
    """Published Zelos manifests name the host range `[zelos] version` (the seed's table)."""

    def test_zelos_table_is_the_host_range(self) -> None:
        m = validate_manifest(manifest(zelos={"version": ">=25.0.22-0"}))
        self.assertEqual(m["core"]["version"], ">=25.0.22-0")

    def test_same_range_in_both_tables_is_accepted(self) -> None:
        m = validate_manifest(manifest(core={"version": ">=25.0.0"}, zelos={"version": ">=25.0.0"}))
        self.assertEqual(m["core"]["version"], ">=25.0.0")

    def test_different_ranges_are_refused(self) -> None:
        with self.assertRaises(HostError) as raised:
            validate_manifest(manifest(core={"version": ">=25.0.0"}, zelos={"version": ">=26.0.0"}))
        self.assertIn("name the host range once", str(raised.exception))

    def test_invalid_zelos_range_names_its_table(self) -> None:
        with self.assertRaises(HostError) as raised:
            validate_manifest(manifest(zelos={"version": "not a range ~~"}))
        self.assertIn("[zelos] version", str(raised.exception))
