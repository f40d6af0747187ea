import random
import unittest

from distcheck_host.registry import Registry
from distcheck_host.sdk import Extension
from distcheck_host.wheel_loader import Candidate, WheelLoader

CALLS: list[str] = []


def plugin_class(manifest: dict, *, setup_raises: bool = False, init_raises: bool = False):
    class Plugin(Extension):
        def __init__(self) -> None:
            if init_raises:
                raise RuntimeError("constructor exploded")
            super().__init__(package="nothing")

        def manifest(self) -> dict:
            return dict(manifest)

        def setup(self, host) -> None:
            CALLS.append(f"setup:{manifest['id']}")
            host.add_route("GET", f"/api/{manifest['id']}/ping", lambda request: {"ok": True})
            host.register_service(f"{manifest['id']}.svc", object())
            host.register_operator(f"{manifest['id']}.op", description="d")
            host.register_shutdown_callback(lambda: None)
            if setup_raises:
                raise ValueError("setup exploded")

    return Plugin


class FakeEntryPoint:
    def __init__(self, error: BaseException) -> None:
        self.error = error

    def load(self):
        raise self.error


def candidate(dist: str, ext_id: str | None = None, name: str = "main", **manifest_fields) -> Candidate:
    options = {k: manifest_fields.pop(k) for k in ("setup_raises", "init_raises") if k in manifest_fields}
    manifest = {"schema_version": 1, "id": ext_id, "name": f"Ext {ext_id}", "version": "1.0.0", **manifest_fields}
    return Candidate(entry_point=name, target=f"{dist}.plugin:Plugin", distribution=dist,
                     plugin=plugin_class(manifest, **options))


def load(candidates, core_version="0.8.0", disabled=()):
    CALLS.clear()
    registry = Registry()
    loader = WheelLoader(group="g", core_version=core_version, disabled=disabled, registry=registry, host_config={})
    result = loader.load(candidates)
    codes = {(d.extension_id, d.code) for d in result.diagnostics}
    return result, codes, registry


class Isolation(unittest.TestCase):
    def test_load_and_init_failures_do_not_stop_others(self) -> None:
        broken = Candidate(entry_point="broken", target="missing.module:Plugin", distribution="broken-dist")
        broken._ep = FakeEntryPoint(ImportError("No module named 'missing'"))
        result, codes, _ = load([broken, candidate("good", "a.good"), candidate("bad-init", "a.init", init_raises=True)])
        self.assertEqual([c.ext_id for c in result.loaded], ["a.good"])
        kinds = {d.code for d in result.diagnostics}
        self.assertEqual(kinds, {"entry_point_load_failed", "plugin_initialize_failed"})
        load_failed = next(d for d in result.diagnostics if d.code == "entry_point_load_failed")
        self.assertEqual((load_failed.distribution, load_failed.entry_point), ("broken-dist", "broken"))
        self.assertIn("missing", load_failed.message)

    def test_manifest_problems(self) -> None:
        no_method = Candidate(entry_point="x", target="x:y", distribution="nomethod", plugin=lambda: object())

        class Unreadable(Extension):
            def __init__(self) -> None:
                super().__init__(package="definitely_not_a_package_xyz")

        unreadable = Candidate(entry_point="x", target="x:y", distribution="unreadable", plugin=Unreadable)
        result, codes, _ = load([no_method, unreadable, candidate("ok", "a.ok")])
        kinds = sorted(d.code for d in result.diagnostics)
        self.assertEqual(kinds, ["manifest_method_missing", "manifest_read_failed"])

    def test_invalid_version_and_specifier_skip_only_that_extension(self) -> None:
        result, codes, _ = load([
            candidate("v", "a.badversion", version="one point oh"),
            candidate("s", "a.badspec", requires_core_version=">=>0.7"),
            candidate("r", "a.badreq", requires_extensions=["a.other>>1"]),
            candidate("ok", "a.ok"),
        ])
        self.assertEqual([c.ext_id for c in result.loaded], ["a.ok"])
        self.assertEqual(codes, {("a.badversion", "invalid_version"), ("a.badspec", "invalid_specifier"),
                                 ("a.badreq", "invalid_specifier")})

    def test_setup_failure_keeps_nothing_it_registered(self) -> None:
        result, codes, registry = load([candidate("bad", "a.bad", setup_raises=True), candidate("good", "a.good")])
        self.assertEqual([c.ext_id for c in result.loaded], ["a.good"])
        self.assertIn(("a.bad", "setup_failed"), codes)
        owners = {r["owner"] for r in registry.as_json()["routes"]}
        self.assertEqual(owners, {"a.good"})
        self.assertEqual({s["owner"] for s in registry.as_json()["services"]}, {"a.good"})
        self.assertEqual([owner for _fn, owner in registry.shutdown_callbacks], ["a.good"])


class Compatibility(unittest.TestCase):
    def test_core_version_checked_before_setup_with_prereleases(self) -> None:
        result, codes, registry = load([
            candidate("a", "a.new", requires_core_version=">=0.9"),
            candidate("b", "a.ok", requires_core_version=">=0.7,<0.9"),
        ])
        self.assertEqual(CALLS, ["setup:a.ok"])
        self.assertIn(("a.new", "incompatible_extension"), codes)
        message = next(d.message for d in result.diagnostics if d.code == "incompatible_extension")
        self.assertIn(">=0.9", message)
        self.assertIn("0.8.0", message)
        self.assertNotIn("a.new", {r["owner"] for r in registry.as_json()["routes"]})
        result, codes, _ = load([candidate("a", "a.rc", requires_core_version=">=0.8.0rc1"),
                                 candidate("b", "a.old", requires_core_version=">=0.7")], core_version="0.8.0rc1")
        self.assertEqual([c.ext_id for c in result.loaded], ["a.old", "a.rc"])

    def test_dependencies_to_a_fixed_point(self) -> None:
        # c -> b -> a, a is incompatible: all three skipped before any setup. d needs a missing id,
        # e needs b at a version it does not have, f depends on the good g.
        result, codes, _ = load([
            candidate("c", "x.c", requires_extensions=["x.b"]),
            candidate("b", "x.b", requires_extensions=["x.a>=1.0"]),
            candidate("a", "x.a", requires_core_version="<0.1"),
            candidate("d", "x.d", requires_extensions=["x.nowhere"]),
            candidate("e", "x.e", requires_extensions=["x.g>=2"]),
            candidate("f", "x.f", requires_extensions=["x.g>=1.0,<2"]),
            candidate("g", "x.g"),
        ])
        self.assertEqual(codes, {("x.a", "incompatible_extension"), ("x.b", "dependency_skipped"),
                                 ("x.c", "dependency_skipped"), ("x.d", "missing_dependency"),
                                 ("x.e", "dependency_version_mismatch")})
        self.assertEqual([c.ext_id for c in result.loaded], ["x.f", "x.g"])
        self.assertEqual(CALLS, ["setup:x.g", "setup:x.f"])  # dependency first

    def test_dependant_of_failed_setup_is_skipped(self) -> None:
        result, codes, _ = load([candidate("a", "x.a", setup_raises=True), candidate("b", "x.b", requires_extensions=["x.a"])])
        self.assertEqual(codes, {("x.a", "setup_failed"), ("x.b", "dependency_skipped")})

    def test_disabled(self) -> None:
        result, codes, _ = load([candidate("a", "x.a"), candidate("b", "x.b", requires_extensions=["x.a"])], disabled=["x.a"])
        self.assertEqual(codes, {("x.a", "extension_disabled"), ("x.b", "dependency_skipped")})
        self.assertEqual(CALLS, [])


class Duplicates(unittest.TestCase):
    def test_winner_is_independent_of_discovery_order(self) -> None:
        winners = set()
        for seed in range(10):
            items = [candidate("zeta-dist", "dup.id", version="2.0.0"), candidate("alpha_dist", "dup.id", version="1.0.0"),
                     candidate("Mid.Dist", "dup.id", version="3.0.0")]
            random.Random(seed).shuffle(items)
            result, codes, _ = load(items)
            self.assertEqual(len(result.loaded), 1)
            winners.add((result.loaded[0].distribution, result.loaded[0].manifest["version"]))
            losers = sorted(d.distribution for d in result.diagnostics if d.code == "duplicate_extension_id")
            self.assertEqual(losers, ["Mid.Dist", "zeta-dist"])
        self.assertEqual(winners, {("alpha_dist", "1.0.0")})


class Frontend(unittest.TestCase):
    def test_missing_remote_entry(self) -> None:
        result, codes, _ = load([candidate("a", "x.a", frontend={"remote_entry": "remoteEntry.js"})])
        self.assertEqual([c.ext_id for c in result.loaded], ["x.a"])
        self.assertIn(("x.a", "frontend_remote_entry_missing"), codes)
        self.assertIsNone(result.loaded[0].remote_entry_url)


if __name__ == "__main__":
    unittest.main()
