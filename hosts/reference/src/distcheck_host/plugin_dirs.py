"""Plugin directories (DIR-01..03), after Honeyframe's plugin host (`../shared/seeds/002_*`).

A plugin is a folder `<plugins_root>/plugins/<slug>/` holding a `plugin.yaml`, or a wheel with an entry
point in the `plugin_group` group (`name = "module:attr"`, `attr` the manifest as a dict or a callable
returning it). Discovery runs once at startup, in this order, and never raises:

1. folders of `<plugins_root>/plugins/` sorted by name (a folder without `plugin.yaml` is not a plugin);
   for each: `plugin.yaml` read with `yaml.safe_load` (`plugin_manifest_malformed`: not YAML, or not a
   mapping), the folder name against the slug rule (`plugin_slug_invalid`), the fields
   (`plugin_manifest_invalid`), the folder name against `name` (`plugin_slug_mismatch`), then every
   router imported (`plugin_router_failed`);
2. entry points of `plugin_group` sorted by (normalised distribution, entry point name): the entry point
   loaded (`plugin_manifest_malformed` when it fails or is not a mapping), the fields (`name` must follow
   the slug rule), a name already loaded (`plugin_duplicate_name`: the directory plugin is kept), routers.

A skipped plugin has exactly one diagnostic (level `error`) whose message names its file (the path of
`plugin.yaml`, or `entry point <name>`), and leaves nothing behind: its routes and permissions are
staged and committed only once every router imported. A plugin that loads gets one warning diagnostic
(`plugin_manifest_unknown_field`) per field the manifest schema does not have.
"""

from __future__ import annotations

import importlib
import logging
import os
import re
import sys
import traceback
from dataclasses import dataclass, field
from typing import Any

from .registry import Registry, Route, Staged

log = logging.getLogger("distcheck_host.plugins")

SLUG = re.compile(r"^[a-z0-9]+(-[a-z0-9]+)*$")
# Module segments may hold hyphens: a slug folder (`plugins.clinical-trials.api`) imports with import_module.
ROUTER_REF = re.compile(r"^[A-Za-z0-9_-]+(\.[A-Za-z0-9_-]+)*:[A-Za-z_][A-Za-z0-9_]*$")
MANIFEST_FILE = "plugin.yaml"
FIELDS = ("name", "version", "display_name", "routers", "dbt_workspace", "frontend_entry", "nav", "permissions",
          "seed_groups")


class PluginProblem(Exception):
    """Why one plugin was skipped: a diagnostic code and a message that names the plugin's file."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(f"{code}: {message}")
        self.code = code
        self.message = message


@dataclass
class Plugin:
    name: str
    version: str
    source: str  # directory | wheel
    path: str  # the folder, or "entry point <name>"
    manifest: dict[str, Any]
    routes: list[Route] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)

    def as_json(self) -> dict[str, Any]:
        m = self.manifest
        return {
            "name": self.name,
            "version": self.version,
            "display_name": m.get("display_name"),
            "source": self.source,
            "path": self.path,
            "routers": list(m.get("routers") or []),
            "routes": [{"method": r.method, "path": r.path} for r in sorted(self.routes, key=lambda r: (r.path, r.method))],
            "permissions": list(m.get("permissions") or []),
            "nav": list(m.get("nav") or []),
            "seed_groups": list(m.get("seed_groups") or []),
            "frontend_entry": m.get("frontend_entry"),
            "dbt_workspace": m.get("dbt_workspace"),
            "warnings": list(self.warnings),
        }


def _describe(exc: BaseException) -> str:
    return f"{type(exc).__name__}: {exc}"


def _type_name(value: Any) -> str:
    return "null" if value is None else type(value).__name__


def _string_list(manifest: dict[str, Any], key: str, where: str) -> None:
    value = manifest.get(key)
    if value is None:
        return
    if not isinstance(value, list) or not all(isinstance(item, str) and item.strip() for item in value):
        raise PluginProblem("plugin_manifest_invalid",
                            f"{where}: {key} must be a list of non-empty strings, got {value!r}.")


def validate_manifest(manifest: dict[str, Any], where: str) -> list[str]:
    """Checks the fields of a manifest mapping; returns the unknown-field warnings, raises PluginProblem.

    Optional fields may be absent or null. `where` names the file in every message.
    """
    from .versions import SemVer

    for key in ("name", "version"):
        value = manifest.get(key)
        if value is None:
            raise PluginProblem("plugin_manifest_invalid", f"{where}: required field {key} is missing.")
        if not isinstance(value, str) or not value.strip():
            raise PluginProblem("plugin_manifest_invalid",
                                f"{where}: {key} must be a non-empty string, got {_type_name(value)} {value!r}.")
    try:
        SemVer.parse(manifest["version"])
    except ValueError:
        raise PluginProblem("plugin_manifest_invalid",
                            f"{where}: version {manifest['version']!r} is not a strict SemVer version "
                            "(MAJOR.MINOR.PATCH, e.g. 0.1.0).") from None
    for key in ("display_name", "dbt_workspace", "frontend_entry"):
        value = manifest.get(key)
        if value is not None and not isinstance(value, str):
            raise PluginProblem("plugin_manifest_invalid",
                                f"{where}: {key} must be a string, got {_type_name(value)} {value!r}.")
    _string_list(manifest, "permissions", where)
    _string_list(manifest, "routers", where)
    for ref in manifest.get("routers") or []:
        if not ROUTER_REF.match(ref):
            raise PluginProblem("plugin_manifest_invalid",
                                f"{where}: router {ref!r} is not a dotted module path and an attribute "
                                "(e.g. plugins.healthcare.backend.routers.patients:router).")
    nav = manifest.get("nav")
    if nav is not None:
        if not isinstance(nav, list):
            raise PluginProblem("plugin_manifest_invalid", f"{where}: nav must be a list, got {_type_name(nav)}.")
        for index, item in enumerate(nav):
            ok = (isinstance(item, dict) and isinstance(item.get("label"), str) and isinstance(item.get("path"), str)
                  and isinstance(item.get("icon", ""), str))
            if not ok:
                raise PluginProblem("plugin_manifest_invalid",
                                    f"{where}: nav[{index}] must be a mapping with string label and path "
                                    f"(and an optional string icon), got {item!r}.")
    groups = manifest.get("seed_groups")
    if groups is not None:
        if not isinstance(groups, list):
            raise PluginProblem("plugin_manifest_invalid",
                                f"{where}: seed_groups must be a list, got {_type_name(groups)}.")
        for index, item in enumerate(groups):
            perms = item.get("permissions") if isinstance(item, dict) else None
            ok = (isinstance(item, dict) and isinstance(item.get("name"), str) and item["name"].strip()
                  and isinstance(perms, list) and all(isinstance(p, str) for p in perms))
            if not ok:
                raise PluginProblem("plugin_manifest_invalid",
                                    f"{where}: seed_groups[{index}] must be a mapping with a string name and a "
                                    f"list of string permissions, got {item!r}.")
    return [f"unknown field {key!r} ignored" for key in manifest if key not in FIELDS]


def import_routers(plugin: Plugin, where: str) -> None:
    """Imports every router of the plugin and stages its routes at /plugins/<name><path>; raises PluginProblem."""
    from .sdk import Router

    seen: set[tuple[str, str]] = set()
    for ref in plugin.manifest.get("routers") or []:
        module_name, attr = ref.split(":", 1)
        try:
            module = importlib.import_module(module_name)
        except BaseException as exc:  # an import may raise anything, SystemExit included
            raise PluginProblem("plugin_router_failed",
                                f"{where}: router {ref} failed to import: {_describe(exc)}. The plugin was skipped "
                                "whole.") from None
        router = getattr(module, attr, None)
        if router is None:
            raise PluginProblem("plugin_router_failed",
                                f"{where}: router {ref}: module {module_name} has no attribute {attr!r}. The plugin "
                                "was skipped whole.")
        if not isinstance(router, Router):
            raise PluginProblem("plugin_router_failed",
                                f"{where}: router {ref} is a {type(router).__name__}, not a "
                                "distcheck_host.sdk.Router. The plugin was skipped whole.")
        for method, path, handler in router.routes:
            mounted = f"/plugins/{plugin.name}{path}"
            if (method, mounted) in seen:
                raise PluginProblem("plugin_router_failed",
                                    f"{where}: router {ref} declares {method} {path} a second time. The plugin was "
                                    "skipped whole.")
            seen.add((method, mounted))
            plugin.routes.append(Route(method, mounted, handler, f"plugin:{plugin.name}"))


class PluginDirectories:
    """Discovers the plugins (`load()`), then answers GET /api/plugins and GET /api/permissions."""

    def __init__(self, *, root: str, group: str, registry: Registry) -> None:
        self.root = root
        self.group = group
        self.registry = registry
        self.plugins: dict[str, Plugin] = {}
        self.diagnostics: list[dict[str, Any]] = []

    # -- answers --------------------------------------------------------------------------------

    def list_json(self) -> list[dict[str, Any]]:
        return [self.plugins[name].as_json() for name in sorted(self.plugins)]

    def permissions_json(self) -> list[dict[str, str]]:
        pairs = {(perm, p.name) for p in self.plugins.values() for perm in p.manifest.get("permissions") or []}
        return [{"permission": perm, "plugin": name} for perm, name in sorted(pairs)]

    # -- discovery ------------------------------------------------------------------------------

    def _diag(self, code: str, message: str, name: Any, level: str = "error") -> None:
        ext_id = name if isinstance(name, str) and name.strip() else None
        self.diagnostics.append({"code": code, "extension_id": ext_id, "level": level, "message": message})
        log.warning("diagnostic %s %s: %s", code, ext_id or "-", message)

    def load(self) -> None:
        """Discovers every plugin; one bad plugin (or a broken root) never stops the others or the host."""
        # Directory plugins' routers are `plugins.<slug>.<...>:attr`, imported from the root.
        root_path = os.path.abspath(self.root)
        if root_path not in sys.path:
            sys.path.insert(0, root_path)
        importlib.invalidate_caches()
        try:
            self._load_directories()
        except Exception:
            log.error("plugin directory discovery failed:\n%s", traceback.format_exc())
        try:
            self._load_wheels()
        except Exception:
            log.error("wheel plugin discovery failed:\n%s", traceback.format_exc())
        log.info("%d plugin(s) loaded: %s", len(self.plugins), ", ".join(sorted(self.plugins)) or "none")

    def _load_directories(self) -> None:
        base = os.path.join(self.root, "plugins")
        try:
            folders = sorted(os.listdir(base))
        except FileNotFoundError:
            log.info("no plugin directory at %s", base)
            return
        for folder in folders:
            path = os.path.join(base, folder)
            manifest_path = os.path.join(path, MANIFEST_FILE)
            if not os.path.isfile(manifest_path):
                if os.path.isdir(path) and folder != "__pycache__":
                    log.info("%s has no %s; not a plugin", path, MANIFEST_FILE)
                continue
            manifest: Any = None
            try:
                manifest = self._read_yaml(manifest_path)
                plugin = self._directory_plugin(folder, path, manifest_path, manifest)
            except PluginProblem as problem:
                self._diag(problem.code, problem.message, manifest.get("name") if isinstance(manifest, dict) else None)
                continue
            self._commit(plugin, manifest_path)

    @staticmethod
    def _read_yaml(manifest_path: str) -> dict[str, Any]:
        import yaml

        try:
            with open(manifest_path, "rb") as handle:
                data = yaml.safe_load(handle)
        except yaml.YAMLError as exc:
            raise PluginProblem("plugin_manifest_malformed",
                                f"{manifest_path} is not valid YAML: {' '.join(str(exc).split())}") from None
        except (OSError, UnicodeDecodeError) as exc:
            raise PluginProblem("plugin_manifest_malformed", f"{manifest_path} could not be read: {_describe(exc)}") from None
        if not isinstance(data, dict):
            raise PluginProblem("plugin_manifest_malformed",
                                f"{manifest_path} must be a YAML mapping of the manifest fields, got {_type_name(data)}.")
        return data

    def _directory_plugin(self, folder: str, path: str, manifest_path: str, manifest: dict[str, Any]) -> Plugin:
        if not SLUG.match(folder):
            raise PluginProblem("plugin_slug_invalid",
                                f"{manifest_path}: the folder name {folder!r} is not a slug (lowercase letters and "
                                "digits, words joined by single hyphens, e.g. healthcare or clinical-trials).")
        warnings = validate_manifest(manifest, manifest_path)
        if manifest["name"] != folder:
            raise PluginProblem("plugin_slug_mismatch",
                                f"{manifest_path}: the folder {folder!r} and the manifest's name {manifest['name']!r} "
                                "differ; a plugin's folder is its slug and must equal its name.")
        plugin = Plugin(manifest["name"], manifest["version"], "directory", path, manifest, warnings=warnings)
        import_routers(plugin, manifest_path)
        return plugin

    def _load_wheels(self) -> None:
        from .wheel_loader import discover

        for candidate in discover(self.group):
            where = f"entry point {candidate.entry_point}"
            manifest: Any = None
            try:
                manifest = self._wheel_manifest(candidate, where)
                plugin = self._wheel_plugin(candidate, where, manifest)
            except PluginProblem as problem:
                self._diag(problem.code, problem.message, manifest.get("name") if isinstance(manifest, dict) else None)
                continue
            self._commit(plugin, where)

    @staticmethod
    def _wheel_manifest(candidate: Any, where: str) -> dict[str, Any]:
        target_text = f"{candidate.target} of {candidate.distribution}"
        try:
            target = candidate._ep.load()
            manifest = target() if callable(target) else target
        except BaseException as exc:
            raise PluginProblem("plugin_manifest_malformed",
                                f"{where} ({target_text}) failed to load: {_describe(exc)}") from None
        if not isinstance(manifest, dict):
            raise PluginProblem("plugin_manifest_malformed",
                                f"{where} ({target_text}) must be the manifest mapping or return it, got "
                                f"{_type_name(manifest)}.")
        return manifest

    def _wheel_plugin(self, candidate: Any, where: str, manifest: dict[str, Any]) -> Plugin:
        warnings = validate_manifest(manifest, where)
        name = manifest["name"]
        if not SLUG.match(name):
            raise PluginProblem("plugin_manifest_invalid",
                                f"{where}: name {name!r} is not a slug (lowercase letters and digits, words joined "
                                "by single hyphens).")
        first = self.plugins.get(name)
        if first is not None:
            raise PluginProblem("plugin_duplicate_name",
                                f"{where} of {candidate.distribution} declares plugin {name!r}, which {first.path} "
                                f"({first.source}) already provides; the {first.source} plugin was kept.")
        plugin = Plugin(name, manifest["version"], "wheel", where, manifest, warnings=warnings)
        import_routers(plugin, where)
        return plugin

    def _commit(self, plugin: Plugin, where: str) -> None:
        """Mounts the plugin's routes and registers its permissions (everything checked already)."""
        staged = Staged(owner=f"plugin:{plugin.name}", routes=list(plugin.routes))
        self.registry.commit(staged)
        self.plugins[plugin.name] = plugin
        for warning in plugin.warnings:
            self._diag("plugin_manifest_unknown_field", f"{where}: {warning}", plugin.name, level="warning")
        log.info("plugin %s %s loaded from %s (%d route(s))", plugin.name, plugin.version, plugin.path, len(plugin.routes))


def load_plugin_dirs(config: Any, registry: Registry) -> PluginDirectories:
    """Discovery at boot (HostApp.boot): never raises; an unusable configuration means no plugins."""
    try:
        dirs = PluginDirectories(root=config.plugins_root, group=config.plugin_group, registry=registry)
    except Exception:
        log.error("plugin directories are not configured:\n%s", traceback.format_exc())
        return PluginDirectories(root="/nonexistent", group="", registry=registry)
    dirs.load()
    return dirs
