"""Wheel extensions: discovery through entry points and loading (WHL-02..11, WHL-13).

Order of work, each step isolated so one bad extension never stops the host:

1. entry points of the group, sorted by (normalised distribution name, entry point name) so the
   result never depends on install order or sys.path order;
2. load the object (`entry_point_load_failed`), instantiate it (`plugin_initialize_failed`);
3. read and validate the manifest (`manifest_method_missing`, `manifest_read_failed`,
   `manifest_invalid`, `invalid_version`, `invalid_specifier`);
4. duplicate ids: the first in sort order wins, the rest are `duplicate_extension_id`;
5. disabled ids are `extension_disabled`;
6. compatibility to a fixed point BEFORE any setup(): core version (`incompatible_extension`), then
   required extensions (`missing_dependency`, `dependency_version_mismatch`, `dependency_skipped`),
   repeated until nothing more is skipped;
7. setup() in dependency order (`setup_failed`; dependants of a failed setup are `dependency_skipped`);
8. frontend remote entry check (`frontend_remote_entry_missing`).
"""

from __future__ import annotations

import asyncio
import inspect
import logging
import re
from dataclasses import dataclass, field
from typing import Any, Iterable

from .registry import Registry, Staged

log = logging.getLogger("distcheck_host.wheels")

_ID = re.compile(r"^[A-Za-z0-9](?:[A-Za-z0-9._-]{0,126}[A-Za-z0-9])?$")


@dataclass
class Candidate:
    entry_point: str
    target: str
    distribution: str
    plugin: Any = None
    manifest: dict[str, Any] = field(default_factory=dict)
    ext_id: str = ""
    version: Any = None  # packaging Version
    requires: list[tuple[str, str]] = field(default_factory=list)
    remote_entry_url: str | None = None

    @property
    def sort_key(self) -> tuple[str, str]:
        return (_normalise_dist(self.distribution), self.entry_point)


@dataclass
class Diagnostic:
    code: str
    message: str
    extension_id: str | None = None
    entry_point: str | None = None
    distribution: str | None = None

    def as_json(self) -> dict[str, Any]:
        data: dict[str, Any] = {"code": self.code}
        if self.extension_id is not None:
            data["extension_id"] = self.extension_id
        if self.entry_point is not None:
            data["entry_point"] = self.entry_point
        if self.distribution is not None:
            data["distribution"] = self.distribution
        data["message"] = self.message
        return data


@dataclass
class LoadResult:
    loaded: list[Candidate]
    diagnostics: list[Diagnostic]


def _normalise_dist(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def _describe(exc: BaseException) -> str:
    return f"{type(exc).__name__}: {exc}"


def run_maybe_async(value: Any) -> Any:
    if inspect.isawaitable(value):
        async def _await() -> Any:
            return await value

        return asyncio.run(_await())
    return value


def discover(group: str) -> list[Candidate]:
    from importlib.metadata import entry_points

    found: dict[tuple[str, str], Candidate] = {}
    for ep in entry_points(group=group):
        dist = getattr(ep, "dist", None)
        dist_name = dist.metadata["Name"] if dist is not None and dist.metadata["Name"] else "<unknown>"
        candidate = Candidate(entry_point=ep.name, target=ep.value, distribution=dist_name)
        candidate._ep = ep  # type: ignore[attr-defined]
        found.setdefault(candidate.sort_key, candidate)  # the same distribution seen twice on sys.path
    return [found[key] for key in sorted(found)]


class WheelLoader:
    def __init__(self, *, group: str, core_version: str, disabled: Iterable[str], registry: Registry,
                 host_config: dict[str, Any]) -> None:
        self.group = group
        self.core_version = core_version
        self.disabled = set(disabled)
        self.registry = registry
        self.host_config = host_config
        self.diagnostics: list[Diagnostic] = []

    def _diag(self, code: str, message: str, candidate: Candidate | None = None, ext_id: str | None = None) -> None:
        diagnostic = Diagnostic(
            code=code,
            message=message,
            extension_id=ext_id if ext_id is not None else (candidate.ext_id or None if candidate else None),
            entry_point=candidate.entry_point if candidate else None,
            distribution=candidate.distribution if candidate else None,
        )
        self.diagnostics.append(diagnostic)
        where = f" [{diagnostic.distribution}:{diagnostic.entry_point}]" if candidate else ""
        log.warning("diagnostic %s %s%s: %s", code, diagnostic.extension_id or "-", where, message)

    # -- steps ----------------------------------------------------------------------------------

    def load(self, candidates: list[Candidate] | None = None) -> LoadResult:
        candidates = discover(self.group) if candidates is None else candidates
        log.info("discovered %d entry point(s) in group %s", len(candidates), self.group)
        ready = []
        for candidate in candidates:
            if self._instantiate(candidate) and self._read_manifest(candidate):
                ready.append(candidate)
        winners = self._dedupe(ready)
        enabled = []
        for candidate in winners:
            if candidate.ext_id in self.disabled:
                self._diag("extension_disabled", f"{candidate.ext_id} is in the host's disabled list; it was not set up.",
                           candidate)
            else:
                enabled.append(candidate)
        compatible = self._fixed_point(enabled, {c.ext_id for c in winners})
        loaded = self._setup_all(compatible)
        for candidate in loaded:
            self._check_frontend(candidate)
        return LoadResult(sorted(loaded, key=lambda c: c.ext_id), self.diagnostics)

    def _instantiate(self, candidate: Candidate) -> bool:
        ep = getattr(candidate, "_ep", None)
        try:
            target = ep.load() if ep is not None else candidate.plugin
        except BaseException as exc:  # an import may raise anything, SystemExit included
            self._diag("entry_point_load_failed",
                       f"entry point {candidate.entry_point} = {candidate.target} failed to import: {_describe(exc)}",
                       candidate)
            return False
        try:
            if callable(target):
                plugin = target()
            else:
                raise TypeError(f"{candidate.target} is a {type(target).__name__}, not a class or callable")
        except BaseException as exc:
            self._diag("plugin_initialize_failed",
                       f"creating the plugin from {candidate.target} raised {_describe(exc)}", candidate)
            return False
        candidate.plugin = plugin
        return True

    def _read_manifest(self, candidate: Candidate) -> bool:
        from packaging.specifiers import InvalidSpecifier
        from packaging.version import InvalidVersion, Version

        from .versions import parse_extension_requirement

        method = getattr(candidate.plugin, "manifest", None)
        if not callable(method):
            self._diag("manifest_method_missing",
                       f"plugin {type(candidate.plugin).__name__} from {candidate.target} has no callable manifest(); "
                       "subclass distcheck_host.sdk.Extension or add one.", candidate)
            return False
        try:
            manifest = method()
        except BaseException as exc:
            self._diag("manifest_read_failed",
                       f"reading extension.json for {candidate.target} failed: {_describe(exc)}. Ship extension.json "
                       "inside the importable package.", candidate)
            return False
        if not isinstance(manifest, dict):
            self._diag("manifest_invalid", f"manifest() returned {type(manifest).__name__}, expected a JSON object",
                       candidate)
            return False
        ext_id = manifest.get("id")
        if not isinstance(ext_id, str) or not _ID.match(ext_id):
            self._diag("manifest_invalid",
                       f"extension.json id {ext_id!r} is missing or invalid; use letters, digits, '.', '_', '-' "
                       "(e.g. com.example.demo)", candidate)
            return False
        candidate.ext_id = ext_id
        candidate.manifest = manifest
        for key in ("name", "version"):
            if not isinstance(manifest.get(key), str) or not manifest[key].strip():
                self._diag("manifest_invalid", f"extension.json of {ext_id}: {key} must be a non-empty string, "
                           f"got {manifest.get(key)!r}", candidate)
                return False
        schema_version = manifest.get("schema_version", 1)
        if schema_version != 1:
            self._diag("manifest_invalid", f"extension.json of {ext_id}: schema_version {schema_version!r} is not "
                       "supported; this host reads schema_version 1", candidate)
            return False
        try:
            candidate.version = Version(manifest["version"])
        except InvalidVersion:
            self._diag("invalid_version", f"extension.json of {ext_id}: version {manifest['version']!r} is not a "
                       "PEP 440 version (e.g. 0.1.0)", candidate)
            return False
        spec = manifest.get("requires_core_version")
        if spec is not None:
            from packaging.specifiers import SpecifierSet

            try:
                if not isinstance(spec, str):
                    raise InvalidSpecifier(repr(spec))
                SpecifierSet(spec)
            except InvalidSpecifier:
                self._diag("invalid_specifier", f"extension.json of {ext_id}: requires_core_version {spec!r} is not "
                           "a PEP 440 specifier (e.g. >=0.7,<0.9)", candidate)
                return False
        requires = manifest.get("requires_extensions", [])
        if not isinstance(requires, list):
            self._diag("manifest_invalid", f"extension.json of {ext_id}: requires_extensions must be a list, got "
                       f"{type(requires).__name__}", candidate)
            return False
        for item in requires:
            try:
                candidate.requires.append(parse_extension_requirement(item))
            except (ValueError, InvalidSpecifier) as exc:
                self._diag("invalid_specifier", f"extension.json of {ext_id}: requires_extensions entry {item!r} is "
                           f"not 'id' or 'id<PEP 440 specifier>' ({exc})", candidate)
                return False
        frontend = manifest.get("frontend")
        if frontend is not None and not (isinstance(frontend, dict) and isinstance(frontend.get("remote_entry", ""), str)):
            self._diag("manifest_invalid", f"extension.json of {ext_id}: frontend must be an object with a string "
                       "remote_entry", candidate)
            return False
        return True

    def _dedupe(self, candidates: list[Candidate]) -> list[Candidate]:
        winners: dict[str, Candidate] = {}
        order = sorted(candidates, key=lambda c: c.sort_key)
        for candidate in order:
            first = winners.get(candidate.ext_id)
            if first is None:
                winners[candidate.ext_id] = candidate
                continue
            self._diag("duplicate_extension_id",
                       f"{candidate.ext_id} is declared by {candidate.distribution} ({candidate.entry_point}) and by "
                       f"{first.distribution} ({first.entry_point}); {first.distribution} was loaded because it sorts "
                       "first by distribution name. Uninstall one of them.", candidate)
        return [winners[key] for key in sorted(winners, key=lambda k: winners[k].sort_key)]

    def _fixed_point(self, candidates: list[Candidate], known_ids: set[str]) -> list[Candidate]:
        from .versions import pep440_contains

        remaining: list[Candidate] = []
        for candidate in candidates:
            spec = candidate.manifest.get("requires_core_version")
            compatible = not spec or pep440_contains(spec, self.core_version)
            if not compatible:
                self._diag("incompatible_extension",
                           f"{candidate.ext_id} {candidate.manifest['version']} requires core version {spec!r}, but this "
                           f"host is {self.core_version}; it was skipped before setup().", candidate)
            else:
                remaining.append(candidate)
        skipped_reason: dict[str, str] = {}
        changed = True
        while changed:
            changed = False
            present = {c.ext_id: c for c in remaining}
            for candidate in list(remaining):
                problem = self._dependency_problem(candidate, present, known_ids)
                if problem is not None:
                    code, message = problem
                    self._diag(code, message, candidate)
                    skipped_reason[candidate.ext_id] = code
                    remaining.remove(candidate)
                    changed = True
                    break  # recompute `present` before judging the next one
        return remaining

    def _dependency_problem(self, candidate: Candidate, present: dict[str, Candidate],
                            known_ids: set[str]) -> tuple[str, str] | None:
        from .versions import pep440_contains

        for dep_id, spec in candidate.requires:
            dep = present.get(dep_id)
            if dep is None:
                if dep_id in known_ids:
                    return ("dependency_skipped",
                            f"{candidate.ext_id} requires {dep_id}, which is installed but was skipped (disabled, "
                            "incompatible or itself missing a dependency); it was skipped before setup().")
                return ("missing_dependency",
                        f"{candidate.ext_id} requires {dep_id}{spec}, which is not installed; it was skipped before "
                        "setup(). Install the dependency.")
            if spec and not pep440_contains(spec, str(dep.version)):
                return ("dependency_version_mismatch",
                        f"{candidate.ext_id} requires {dep_id}{spec}, but {dep_id} {dep.version} is installed; it was "
                        "skipped before setup().")
        return None

    def _setup_all(self, candidates: list[Candidate]) -> list[Candidate]:
        from .sdk import Host

        by_id = {c.ext_id: c for c in candidates}
        order: list[Candidate] = []
        visiting: set[str] = set()
        done: set[str] = set()

        def visit(candidate: Candidate) -> None:
            if candidate.ext_id in done or candidate.ext_id in visiting:
                return  # a cycle: fall back to sort order
            visiting.add(candidate.ext_id)
            for dep_id, _spec in candidate.requires:
                if dep_id in by_id:
                    visit(by_id[dep_id])
            visiting.discard(candidate.ext_id)
            done.add(candidate.ext_id)
            order.append(candidate)

        for candidate in candidates:
            visit(candidate)

        loaded: list[Candidate] = []
        ok: set[str] = set()
        for candidate in order:
            failed_deps = [dep_id for dep_id, _ in candidate.requires if dep_id not in ok]
            if failed_deps:
                self._diag("dependency_skipped",
                           f"{candidate.ext_id} requires {', '.join(failed_deps)}, whose setup() did not complete; "
                           "it was not set up.", candidate)
                continue
            staged = Staged(owner=candidate.ext_id)
            host = Host(candidate.ext_id, self.core_version, dict(self.host_config), self.registry, staged)
            setup = getattr(candidate.plugin, "setup", None)
            try:
                if callable(setup):
                    run_maybe_async(setup(host))
            except BaseException as exc:
                self._diag("setup_failed", f"setup() of {candidate.ext_id} raised {_describe(exc)}; nothing it "
                           "registered was kept.", candidate)
                continue
            self.registry.commit(staged)
            ok.add(candidate.ext_id)
            loaded.append(candidate)
            log.info("loaded %s %s from %s", candidate.ext_id, candidate.manifest.get("version"), candidate.distribution)
        return loaded

    def _check_frontend(self, candidate: Candidate) -> None:
        from .static_files import resolve_static

        frontend = candidate.manifest.get("frontend")
        if not isinstance(frontend, dict) or not frontend.get("remote_entry"):
            return
        remote_entry = frontend["remote_entry"]
        try:
            resolve_static(candidate.plugin, remote_entry, decoded=True)
        except Exception as exc:
            detail = getattr(exc, "message", str(exc))
            self._diag("frontend_remote_entry_missing",
                       f"{candidate.ext_id} declares frontend.remote_entry {remote_entry!r}, but it is not served from "
                       f"the package's static/ ({detail}). Include static/{remote_entry} in the wheel.", candidate)
            return
        candidate.remote_entry_url = f"/extensions/{candidate.ext_id}/{remote_entry}"

    def public_list(self, loaded: list[Candidate]) -> list[dict[str, Any]]:
        result = []
        for candidate in loaded:
            item = {
                "id": candidate.ext_id,
                "name": candidate.manifest["name"],
                "version": candidate.manifest["version"],
                "description": candidate.manifest.get("description"),
                "distribution": candidate.distribution,
                "entry_point": candidate.entry_point,
            }
            if candidate.remote_entry_url:
                item["remote_entry_url"] = candidate.remote_entry_url
            result.append(item)
        return result
