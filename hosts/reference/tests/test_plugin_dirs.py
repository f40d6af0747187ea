"""Plugin directories (DIR-01..03): discovery from <root>/plugins/<slug>/plugin.yaml and from wheels'
entry points, routers mounted at /plugins/<name><path>, permissions registered, and every broken
plugin skipped with one diagnostic naming its file. Every root, site dir and module lives in a temp
dir the test owns; imported `plugins.*` modules are dropped after each test."""

from __future__ import annotations

import importlib
import json
import os
import sys
import textwrap
import threading
import unittest
import urllib.error
import urllib.request

from distcheck_host.plugin_dirs import FIELDS, SLUG, PluginDirectories, load_plugin_dirs
from distcheck_host.registry import Registry, Staged
from distcheck_host.sdk import Router

from .helpers import TempDirTest, config

ROUTER = '''
from distcheck_host.sdk import Router

router = Router()


@router.get("/ping")
def ping(request):
    return {"pong": NAME, "q": request.query.get("q")}


@router.post("/echo")
def echo(request):
    return 201, {"echo": request.json()}
'''

HEALTHCARE_YAML = """\
name: healthcare # vertical slug, required
version: 0.1.0 # plugin semver
display_name: Healthcare

# Dotted Python paths to routers.
routers:
  - plugins.healthcare.backend.routers.patients:router
  - plugins.healthcare.backend.routers.doctors:router

dbt_workspace: dbt/
frontend_entry: frontend/src/index.tsx
nav:
  - label: Patient 360
    path: /healthcare/patients
    icon: users
  - label: Doctors
    path: /healthcare/doctors
    icon: stethoscope
permissions:
  - patient.read
  - patient.edit
  - doctor.read
seed_groups:
  - name: clinical_admin
    permissions: [patient.read, patient.edit, doctor.read]
  - name: clinical_viewer
    permissions: [patient.read, doctor.read]
"""


class PluginTest(TempDirTest):
    def setUp(self) -> None:
        super().setUp()
        self.root = self.path("root")
        self.site = self.path("site")
        self.registry = Registry()
        self.group = f"distcheck.test.plugins.{id(self)}"
        self._path = list(sys.path)

    def tearDown(self) -> None:
        sys.path[:] = self._path
        for name in [m for m in sys.modules if m == "plugins" or m.startswith("plugins.")]:
            del sys.modules[name]
        importlib.invalidate_caches()
        super().tearDown()

    def write(self, rel: str, text: str | bytes, base: str | None = None) -> str:
        path = os.path.join(base or self.root, rel)
        os.makedirs(os.path.dirname(path), exist_ok=True)
        with open(path, "wb") as handle:
            handle.write(text if isinstance(text, bytes) else text.encode("utf-8"))
        return path

    def plugin(self, folder: str, yaml_text: str | bytes, modules: dict[str, str] | None = None) -> str:
        for rel, text in (modules or {}).items():
            self.write(f"plugins/{folder}/{rel}", text)
        return self.write(f"plugins/{folder}/plugin.yaml", yaml_text)

    def simple(self, name: str, folder: str | None = None, extra: str = "") -> str:
        folder = folder or name
        return self.plugin(folder, f"name: {name}\nversion: 1.0.0\nrouters: [plugins.{folder}.api:router]\n"
                                   f"permissions: [{name}.read]\n{extra}",
                           {"api.py": f"NAME = {name!r}\n{ROUTER}"})

    def wheel(self, entry_point: str, module: str, manifest: dict, form: str = "dict", routers: dict[str, str] | None = None,
              distribution: str = "dc-plugin-wheel") -> None:
        """An installed wheel as pip lays it out: the package and a dist-info with entry_points.txt."""
        package = module.replace(".", "/")
        literal = repr(manifest)
        body = f"manifest = {literal}\n" if form == "dict" else f"def manifest():\n    return {literal}\n"
        self.write(f"{package}/__init__.py", body, self.site)
        for rel, text in (routers or {}).items():
            self.write(f"{package}/{rel}", text, self.site)
        info = f"{distribution.replace('-', '_')}-1.0.0.dist-info"
        self.write(f"{info}/METADATA", f"Metadata-Version: 2.1\nName: {distribution}\nVersion: 1.0.0\n", self.site)
        self.write(f"{info}/entry_points.txt", f"[{self.group}]\n{entry_point} = {module}:manifest\n", self.site)
        if self.site not in sys.path:
            sys.path.append(self.site)
        importlib.invalidate_caches()

    def load(self) -> PluginDirectories:
        dirs = PluginDirectories(root=self.root, group=self.group, registry=self.registry)
        dirs.load()
        return dirs

    def codes(self, dirs: PluginDirectories) -> list[tuple[str, str | None, str]]:
        return [(d["code"], d["extension_id"], d["level"]) for d in dirs.diagnostics]


class DirectoryDiscoveryTest(PluginTest):
    def test_the_seed_manifest_loads_with_routers_permissions_nav_and_seed_groups(self):
        self.plugin("healthcare", HEALTHCARE_YAML, {
            "backend/routers/patients.py": f"NAME = 'patients'\n{ROUTER}",
            "backend/routers/doctors.py": "from distcheck_host.sdk import Router\nrouter = Router()\n"
                                          "router.add_route('GET', '/doctors', lambda request: ['dr-a'])\n",
        })
        dirs = self.load()
        self.assertEqual(dirs.diagnostics, [])
        [entry] = dirs.list_json()
        self.assertEqual(entry, {
            "name": "healthcare", "version": "0.1.0", "display_name": "Healthcare", "source": "directory",
            "path": os.path.join(self.root, "plugins", "healthcare"),
            "routers": ["plugins.healthcare.backend.routers.patients:router", "plugins.healthcare.backend.routers.doctors:router"],
            "routes": [{"method": "GET", "path": "/plugins/healthcare/doctors"},
                       {"method": "POST", "path": "/plugins/healthcare/echo"},
                       {"method": "GET", "path": "/plugins/healthcare/ping"}],
            "permissions": ["patient.read", "patient.edit", "doctor.read"],
            "nav": [{"label": "Patient 360", "path": "/healthcare/patients", "icon": "users"},
                    {"label": "Doctors", "path": "/healthcare/doctors", "icon": "stethoscope"}],
            "seed_groups": [{"name": "clinical_admin", "permissions": ["patient.read", "patient.edit", "doctor.read"]},
                            {"name": "clinical_viewer", "permissions": ["patient.read", "doctor.read"]}],
            "frontend_entry": "frontend/src/index.tsx", "dbt_workspace": "dbt/", "warnings": [],
        })
        self.assertEqual(dirs.permissions_json(), [{"permission": p, "plugin": "healthcare"}
                                                   for p in ("doctor.read", "patient.edit", "patient.read")])
        routes = self.registry.as_json()["routes"]
        self.assertEqual({(r["method"], r["path"], r["owner"]) for r in routes}, {
            ("GET", "/plugins/healthcare/doctors", "plugin:healthcare"),
            ("POST", "/plugins/healthcare/echo", "plugin:healthcare"),
            ("GET", "/plugins/healthcare/ping", "plugin:healthcare")})
        self.assertEqual(self.registry.find_route("GET", "/plugins/healthcare/doctors").handler(None), ["dr-a"])

    def test_a_minimal_manifest_gets_the_documented_defaults(self):
        self.plugin("inventory", "name: inventory\nversion: 2.0.0-rc.1\n")
        [entry] = self.load().list_json()
        self.assertEqual(entry["version"], "2.0.0-rc.1")
        for key, value in (("display_name", None), ("routers", []), ("routes", []), ("permissions", []), ("nav", []),
                           ("seed_groups", []), ("frontend_entry", None), ("dbt_workspace", None), ("warnings", [])):
            self.assertEqual(entry[key], value, key)

    def test_plugins_are_sorted_by_slug_and_folders_without_plugin_yaml_are_not_plugins(self):
        for name in ("zeta", "alpha", "mid-name"):
            self.simple(name)
        self.write("plugins/notes/README.md", "not a plugin\n")
        self.write("plugins/stray.yaml", "name: stray\n")
        dirs = self.load()
        self.assertEqual([p["name"] for p in dirs.list_json()], ["alpha", "mid-name", "zeta"])
        self.assertEqual(dirs.diagnostics, [])

    def test_a_missing_root_means_no_plugins(self):
        dirs = PluginDirectories(root=self.path("nowhere"), group=self.group, registry=self.registry)
        dirs.load()
        self.assertEqual((dirs.list_json(), dirs.permissions_json(), dirs.diagnostics), ([], [], []))

    def test_the_slug_rule(self):
        for good in ("a", "healthcare", "clinical-trials", "v2", "a-1-b"):
            self.assertRegex(good, SLUG)
        for bad in ("", "Health", "lab_results", "-a", "a-", "a--b", "a b", "é"):
            self.assertNotRegex(bad, SLUG)


class BrokenPluginTest(PluginTest):
    """Each way to break a plugin: skipped with one error diagnostic that names its file; the rest load."""

    def broken(self, folder: str, yaml_text: str | bytes, modules: dict[str, str] | None = None) -> tuple[dict, PluginDirectories]:
        self.simple("good-a")
        manifest_path = self.plugin(folder, yaml_text, modules)
        self.simple("zz-good")
        dirs = self.load()
        self.assertEqual([p["name"] for p in dirs.list_json()], ["good-a", "zz-good"])
        self.assertEqual(len(dirs.diagnostics), 1, dirs.diagnostics)
        [diagnostic] = dirs.diagnostics
        self.assertEqual(diagnostic["level"], "error")
        self.assertIn(manifest_path, diagnostic["message"])
        self.assertEqual({r["owner"] for r in self.registry.as_json()["routes"]}, {"plugin:good-a", "plugin:zz-good"})
        self.assertEqual({p["plugin"] for p in dirs.permissions_json()}, {"good-a", "zz-good"})
        return diagnostic, dirs

    def test_malformed_yaml(self):
        d, _ = self.broken("broken-yaml", "name: broken-yaml\nversion: [1.0.0\n")
        self.assertEqual((d["code"], d["extension_id"]), ("plugin_manifest_malformed", None))

    def test_yaml_that_is_not_a_mapping(self):
        d, _ = self.broken("a-list", "- name\n- version\n")
        self.assertEqual(d["code"], "plugin_manifest_malformed")
        self.assertIn("mapping", d["message"])

    def test_an_empty_file_and_undecodable_bytes_are_malformed(self):
        d, _ = self.broken("empty", "")
        self.assertEqual(d["code"], "plugin_manifest_malformed")
        self.tearDown()
        self.setUp()
        d, _ = self.broken("latin-1", b"name: caf\xe9\nversion: 1.0.0\n")
        self.assertEqual(d["code"], "plugin_manifest_malformed")

    def test_yaml_is_read_with_safe_load_only(self):
        marker = self.path("executed")
        d, _ = self.broken("tagged", f"name: !!python/object/apply:os.system ['touch {marker}']\nversion: 1.0.0\n")
        self.assertEqual(d["code"], "plugin_manifest_malformed")
        self.assertFalse(os.path.exists(marker))

    def test_missing_name(self):
        d, _ = self.broken("no-name", "version: 1.0.0\n")
        self.assertEqual((d["code"], d["extension_id"]), ("plugin_manifest_invalid", None))
        self.assertIn("name", d["message"])

    def test_missing_version(self):
        d, _ = self.broken("no-version", "name: no-version\n")
        self.assertEqual((d["code"], d["extension_id"]), ("plugin_manifest_invalid", "no-version"))
        self.assertIn("version", d["message"])

    def test_version_not_semver(self):
        for version in ('"1.0"', "1.0", "v1.0.0", "01.0.0", "1.0.0.0"):
            with self.subTest(version=version):
                self.tearDown()
                self.setUp()
                d, _ = self.broken("loose-version", f"name: loose-version\nversion: {version}\n")
                self.assertEqual(d["code"], "plugin_manifest_invalid")
                self.assertIn("version", d["message"])

    def test_fields_of_the_wrong_type(self):
        for extra in ("routers: plugins.x:router", "routers: [not a router]", "permissions: [1, 2]", "nav: [{label: x}]",
                      "seed_groups: [{name: a, permissions: read}]", "display_name: [x]", "nav: {}"):
            with self.subTest(extra=extra):
                self.tearDown()
                self.setUp()
                d, _ = self.broken("typed", f"name: typed\nversion: 1.0.0\n{extra}\n")
                self.assertEqual(d["code"], "plugin_manifest_invalid")

    def test_slug_differs_from_name(self):
        d, _ = self.broken("billing", "name: invoicing\nversion: 1.0.0\n")
        self.assertEqual((d["code"], d["extension_id"]), ("plugin_slug_mismatch", "invoicing"))
        self.assertIn("'billing'", d["message"])

    def test_slug_not_lowercase_hyphenated(self):
        d, _ = self.broken("Lab_Results", "name: Lab_Results\nversion: 1.0.0\n")
        self.assertEqual((d["code"], d["extension_id"]), ("plugin_slug_invalid", "Lab_Results"))

    def test_router_module_that_fails_to_import_skips_the_plugin_whole(self):
        d, _ = self.broken("radiology", "name: radiology\nversion: 1.0.0\npermissions: [scan.read]\nrouters:\n"
                                        "  - plugins.radiology.ok:router\n  - plugins.radiology.scans:router\n",
                           {"ok.py": f"NAME = 'ok'\n{ROUTER}", "scans.py": "import distcheck_no_such_dependency\n"})
        self.assertEqual((d["code"], d["extension_id"]), ("plugin_router_failed", "radiology"))
        self.assertIn("plugins.radiology.scans:router", d["message"])
        self.assertIsNone(self.registry.find_route("GET", "/plugins/radiology/ping"))

    def test_router_attribute_missing_or_not_a_router(self):
        for body in ("api = None\n", "router = object()\n", "raise SystemExit(3)\n"):
            with self.subTest(body=body):
                self.tearDown()
                self.setUp()
                d, _ = self.broken("pharmacy", "name: pharmacy\nversion: 1.0.0\nrouters: [plugins.pharmacy.api:router]\n",
                                   {"api.py": body})
                self.assertEqual(d["code"], "plugin_router_failed")

    def test_a_route_declared_twice_skips_the_plugin(self):
        twice = "from distcheck_host.sdk import Router\nrouter = Router()\nrouter.add_route('GET', '/a', repr)\n"
        d, _ = self.broken("twice", "name: twice\nversion: 1.0.0\nrouters: [plugins.twice.a:router, plugins.twice.b:router]\n",
                           {"a.py": twice, "b.py": twice})
        self.assertEqual(d["code"], "plugin_router_failed")


class UnknownFieldTest(PluginTest):
    def test_an_unknown_field_is_a_warning_and_the_plugin_loads(self):
        path = self.simple("reporting", extra="sidebar_color: blue\nowner: {team: data}\n")
        dirs = self.load()
        [entry] = dirs.list_json()
        self.assertEqual(entry["warnings"], ["unknown field 'sidebar_color' ignored", "unknown field 'owner' ignored"])
        self.assertEqual(self.codes(dirs), [("plugin_manifest_unknown_field", "reporting", "warning")] * 2)
        self.assertTrue(all(path in d["message"] for d in dirs.diagnostics))
        self.assertIn("sidebar_color", dirs.diagnostics[0]["message"])
        self.assertEqual(entry["routes"], [{"method": "POST", "path": "/plugins/reporting/echo"},
                                           {"method": "GET", "path": "/plugins/reporting/ping"}])
        self.assertNotIn("sidebar_color", FIELDS)


class WheelPluginTest(PluginTest):
    MANIFEST = {"name": "finance", "version": "1.2.0", "display_name": "Finance",
                "routers": ["plugins.finance.api:router"], "permissions": ["ledger.read", "ledger.write"],
                "nav": [{"label": "Ledger", "path": "/finance/ledger", "icon": "book"}],
                "seed_groups": [{"name": "accountants", "permissions": ["ledger.read", "ledger.write"]}]}
    ROUTERS = {"api.py": f"NAME = 'finance'\n{ROUTER}"}

    def twin_yaml(self) -> str:
        return json.dumps(self.MANIFEST)  # JSON is YAML

    def test_a_wheel_plugin_is_reported_like_its_directory_twin(self):
        self.plugin("finance", self.twin_yaml(), self.ROUTERS)
        directory = self.load().list_json()
        self.tearDown()
        self.setUp()
        self.wheel("finance", "plugins.finance", self.MANIFEST, routers=self.ROUTERS)
        dirs = self.load()
        wheel = dirs.list_json()
        self.assertEqual(dirs.diagnostics, [])
        self.assertEqual((wheel[0]["source"], wheel[0]["path"]), ("wheel", "entry point finance"))
        strip = lambda entries: [{k: v for k, v in e.items() if k not in ("source", "path")} for e in entries]
        self.assertEqual(strip(wheel), strip(directory))
        self.assertEqual({r["owner"] for r in self.registry.as_json()["routes"]}, {"plugin:finance"})
        self.assertEqual(len(dirs.permissions_json()), 2)

    def test_a_callable_entry_point_returns_the_manifest(self):
        self.wheel("finance", "plugins.finance", self.MANIFEST, form="callable", routers=self.ROUTERS)
        self.assertEqual([p["name"] for p in self.load().list_json()], ["finance"])

    def test_a_wheel_with_the_name_of_a_directory_plugin_is_a_duplicate_and_the_directory_one_is_kept(self):
        self.plugin("finance", self.twin_yaml(), self.ROUTERS)
        self.wheel("finance", "plugins.finance", self.MANIFEST, routers=self.ROUTERS)
        dirs = self.load()
        [entry] = dirs.list_json()
        self.assertEqual(entry["source"], "directory")
        self.assertEqual(self.codes(dirs), [("plugin_duplicate_name", "finance", "error")])
        self.assertIn("entry point finance", dirs.diagnostics[0]["message"])

    def test_broken_wheel_plugins_are_skipped_with_a_diagnostic_naming_the_entry_point(self):
        cases = [
            ("not-a-mapping", ["a", "list"], "plugin_manifest_malformed"),
            ("bad-slug", {**self.MANIFEST, "name": "Finance_X", "routers": []}, "plugin_manifest_invalid"),
            ("no-version", {"name": "nover"}, "plugin_manifest_invalid"),
            ("bad-router", {**self.MANIFEST, "name": "badr", "routers": ["plugins.nowhere.api:router"]}, "plugin_router_failed"),
        ]
        for ep, manifest, code in cases:
            with self.subTest(ep=ep):
                self.tearDown()
                self.setUp()
                self.wheel(ep, f"dc_wheel_{ep.replace('-', '_')}", manifest)
                dirs = self.load()
                self.assertEqual(dirs.list_json(), [])
                self.assertEqual([d["code"] for d in dirs.diagnostics], [code])
                self.assertIn(f"entry point {ep}", dirs.diagnostics[0]["message"])

    def test_an_entry_point_that_fails_to_load(self):
        self.write("dc_wheel_broken/__init__.py", "raise RuntimeError('boom')\n", self.site)
        self.write("dcb-1.0.0.dist-info/METADATA", "Metadata-Version: 2.1\nName: dcb\nVersion: 1.0.0\n", self.site)
        self.write("dcb-1.0.0.dist-info/entry_points.txt", f"[{self.group}]\nbroken = dc_wheel_broken:manifest\n", self.site)
        sys.path.append(self.site)
        importlib.invalidate_caches()
        dirs = self.load()
        self.assertEqual([(d["code"], d["extension_id"]) for d in dirs.diagnostics], [("plugin_manifest_malformed", None)])
        self.assertIn("entry point broken", dirs.diagnostics[0]["message"])
        self.assertIn("RuntimeError: boom", dirs.diagnostics[0]["message"])


class RouterSdkTest(PluginTest):
    def test_decorators_register_routes_and_refuse_bad_ones(self):
        router = Router()
        handler = router.get("/a")(lambda request: 1)
        router.post("/b")(handler)
        router.put("/c")(handler)
        router.delete("/d")(handler)
        router.patch("/e")(handler)
        self.assertEqual([(m, p) for m, p, _h in router.routes], [("GET", "/a"), ("POST", "/b"), ("PUT", "/c"),
                                                                   ("DELETE", "/d"), ("PATCH", "/e")])
        with self.assertRaises(ValueError):
            router.get("no-slash")(handler)
        with self.assertRaises(ValueError):
            router.add_route("HEAD", "/x", handler)
        with self.assertRaises(TypeError):
            router.add_route("GET", "/x", "not callable")

    def test_extensions_may_not_register_under_the_plugin_prefixes(self):
        for path in ("/plugins/x/ping", "/plugins", "/api/plugins", "/api/permissions"):
            with self.assertRaises(ValueError, msg=path):
                self.registry.check_route(Staged(owner="ext"), "GET", path)


class HostBootTest(PluginTest):
    """The whole host: discovery at boot, GET /api/plugins, /api/permissions, the mounted routes."""

    def request(self, port: int, method: str, path: str, body: bytes | None = None) -> tuple[int, object]:
        req = urllib.request.Request(f"http://127.0.0.1:{port}{path}", data=body, method=method,
                                     headers={"Content-Type": "application/json"})
        try:
            with urllib.request.urlopen(req, timeout=10) as response:
                return response.status, json.loads(response.read())
        except urllib.error.HTTPError as exc:
            return exc.code, json.loads(exc.read())

    def test_boot_mounts_plugins_and_serves_the_dir_api(self):
        from distcheck_host.server import HostApp, make_server

        self.simple("alpha")
        self.plugin("billing", "name: invoicing\nversion: 1.0.0\n")
        self.plugin("broken-yaml", "name: [\n")
        app = HostApp(config(data_dir=self.path("data"), plugins_root=self.root, plugin_group=self.group))
        httpd = make_server(app)
        port = httpd.server_address[1]
        thread = threading.Thread(target=httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
        thread.start()
        try:
            app.boot()
            self.assertTrue(app.ready)
            status, plugins = self.request(port, "GET", "/api/plugins")
            self.assertEqual((status, [p["name"] for p in plugins]), (200, ["alpha"]))
            self.assertEqual(self.request(port, "GET", "/api/permissions"), (200, [{"permission": "alpha.read", "plugin": "alpha"}]))
            self.assertEqual(self.request(port, "GET", "/plugins/alpha/ping?q=1"), (200, {"pong": "alpha", "q": "1"}))
            self.assertEqual(self.request(port, "POST", "/plugins/alpha/echo", b'{"x": 1}'), (201, {"echo": {"x": 1}}))
            self.assertEqual(self.request(port, "GET", "/plugins/invoicing/ping")[0], 404)
            _status, registry = self.request(port, "GET", "/api/registry")
            self.assertIn({"method": "GET", "path": "/plugins/alpha/ping", "owner": "plugin:alpha"}, registry["routes"])
            _status, diagnostics = self.request(port, "GET", "/api/diagnostics")
            self.assertEqual(sorted(d["code"] for d in diagnostics), ["plugin_manifest_malformed", "plugin_slug_mismatch"])
            self.assertTrue(all(d["level"] == "error" for d in diagnostics))
        finally:
            httpd.shutdown()
            httpd.server_close()

    def test_an_unusable_configuration_means_no_plugins_and_no_exception(self):
        dirs = load_plugin_dirs(object(), self.registry)
        self.assertEqual(dirs.list_json(), [])


if __name__ == "__main__":
    unittest.main()
