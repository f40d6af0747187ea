"""Archive extension manifest `extension.toml` (ARC-09 validation, ARC-10 defaults) and extension ids.

The effective manifest (what GET /api/agent/extensions reports) always has this shape, whichever
form (`[host]`/`[host.agent]` or legacy `[runtime]`) the archive used:

    name, version, description, author, repository, homepage, icon, readme   (str or None)
    keywords [], categories []
    core      {"version": npm range}                  default by host type
    host      {"type": "agent", "agent": {"runtime", "entry", "python_version", "requirements"}}
              or {"type": "app", "app": {"kind", "entry"}}
    workdir   "."            targets []            env {}
    stop      {"grace_seconds": 10}
    config    {"schema": "config.schema.json"} or None (no [config] section)
    form      "host" or "runtime"
"""

from __future__ import annotations

import re
from typing import Any

from .errors import HostError
from .versions import InvalidRange, Range, is_strict_semver

MANIFEST_NAME = "extension.toml"
RESERVED_ENV_PREFIX = "DISTCHECK_"
DEFAULT_HOST_RANGE = {"agent": ">=25.0.20", "app": ">=26.0.3"}
DEFAULT_PYTHON_VERSION = "3.11"
DEFAULT_GRACE_SECONDS = 10
GRACE_RANGE = (1, 300)
MAX_KEYWORDS = 20
MAX_CATEGORIES = 10
DEFAULT_SCHEMA = "config.schema.json"

_SEGMENT = re.compile(r"^[a-z0-9]+(?:-[a-z0-9]+)*$")
_ENV_KEY = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
_PY_VERSION = re.compile(r"^3\.\d{1,2}$")


def _invalid(message: str) -> HostError:
    return HostError("manifest_invalid", f"extension.toml: {message}")


# --- ids -----------------------------------------------------------------------------------------


def normalize_segment(text: str) -> str:
    """Lowercase, non-alphanumerics to hyphens, hyphens collapsed and trimmed."""
    text = re.sub(r"[^a-z0-9]+", "-", text.lower())
    return text.strip("-")


def id_problem(ext_id: str) -> str | None:
    """Why `ext_id` breaks the `publisher.name` rules, or None when it is valid."""
    if not isinstance(ext_id, str) or not ext_id:
        return "it is empty"
    if len(ext_id) > 128:
        return f"it is {len(ext_id)} characters long; the limit is 128"
    segments = ext_id.split(".")
    if len(segments) < 2:
        return "it needs at least two dot-separated segments (publisher.name)"
    for segment in segments:
        if not segment:
            return "it has an empty segment"
        if segment != segment.lower():
            return f"segment {segment!r} has uppercase letters"
        if segment.startswith("-") or segment.endswith("-"):
            return f"segment {segment!r} starts or ends with a hyphen"
        if not _SEGMENT.match(segment):
            return f"segment {segment!r} may only hold lowercase letters, digits and single hyphens"
    return None


def validate_id(ext_id: str, origin: str) -> str:
    problem = id_problem(ext_id)
    if problem:
        raise HostError(
            "manifest_invalid",
            f"extension id {ext_id!r} ({origin}) is invalid: {problem}. Ids look like acme.canbus-decoder.",
        )
    return ext_id


def local_id(folder_name: str) -> str:
    """`My Extension v2` -> `local.my-extension-v2`."""
    return "local." + normalize_segment(folder_name)


_GITHUB = re.compile(r"^https://github\.com/([^/\s]+)/([^/\s?#]+?)(?:\.git)?/?$", re.IGNORECASE)
_PLATFORM_WORDS = ("x86_64", "aarch64", "universal", "windows", "darwin", "armv7", "amd64", "arm64",
                   "linux", "macos", "win32", "any", "osx", "x64", "arm")
_VERSION_TAIL = re.compile(r"[-_ .]v?\d+(?:\.\d+){1,2}(?:-[0-9A-Za-z.-]+)?(?:\+[0-9A-Za-z.-]+)?$", re.IGNORECASE)
_ARCHIVE_SUFFIX = re.compile(r"\.(tar\.gz|tgz|zip)$", re.IGNORECASE)


def archive_base_name(file_name: str) -> str:
    """`my-ext-1.0.0-linux-x86_64.tar.gz` -> `my-ext`: no extension, platform words or version."""
    name = _ARCHIVE_SUFFIX.sub("", file_name.rsplit("/", 1)[-1])
    changed = True
    while changed:
        changed = False
        for word in _PLATFORM_WORDS:
            if len(name) > len(word) and name.lower().endswith(word) and name[-len(word) - 1] in "-_. ":
                name = name[: -len(word) - 1]
                changed = True
        stripped = _VERSION_TAIL.sub("", name)
        if stripped != name and stripped:
            name = stripped
            changed = True
    return name


def derive_id(requested: str | None, repository: str | None, archive_name: str) -> tuple[str, str]:
    """(id, origin): the request's id, else owner.repo from a GitHub repository, else local.<name>."""
    if requested is not None:
        return validate_id(requested, "from the install request"), "request"
    if repository:
        match = _GITHUB.match(repository)
        if match:
            ext_id = f"{normalize_segment(match.group(1))}.{normalize_segment(match.group(2))}"
            return validate_id(ext_id, f"derived from repository {repository}"), "repository"
    base = archive_base_name(archive_name)
    ext_id = local_id(base)
    return validate_id(ext_id, f"derived from archive name {archive_name!r}"), "local"


# --- manifest ------------------------------------------------------------------------------------


def _opt_str(data: dict, key: str, where: str = "") -> str | None:
    value = data.get(key)
    if value is None:
        return None
    if not isinstance(value, str):
        raise _invalid(f"{where}{key} must be a string, got {value!r}")
    return value


def _str_list(data: dict, key: str, limit: int) -> list[str]:
    value = data.get(key, [])
    if not isinstance(value, list) or not all(isinstance(item, str) for item in value):
        raise _invalid(f"{key} must be an array of strings, got {value!r}")
    if len(value) > limit:
        raise _invalid(f"{key} has {len(value)} entries; the limit is {limit}. Remove {len(value) - limit}.")
    for index, item in enumerate(value):
        if not item.strip():
            raise _invalid(f"{key}[{index}] is an empty string; remove it")
    return list(value)


def relative_path_problem(path: str) -> str | None:
    """Why a manifest path (workdir, entry, schema) is unsafe, or None."""
    if not path:
        return "it is empty"
    if "\\" in path:
        return "it contains a backslash"
    if "\x00" in path:
        return "it contains a NUL byte"
    if path.startswith("/") or re.match(r"^[A-Za-z]:", path):
        return "it is absolute"
    for segment in path.split("/"):
        if segment == "..":
            return "it has a '..' segment"
        if segment.startswith(".") and segment != ".":
            return f"segment {segment!r} is hidden"
    return None


def _path(value: Any, where: str, default: str | None = None) -> str | None:
    if value is None:
        return default
    if not isinstance(value, str):
        raise _invalid(f"{where} must be a string path, got {value!r}")
    problem = relative_path_problem(value)
    if problem:
        raise _invalid(f"{where} {value!r} is not a safe relative path: {problem}")
    return value


def _merged(primary: dict, fallback: dict, key: str) -> Any:
    return primary[key] if key in primary else fallback.get(key)


def _url(value: str | None, where: str, https_only: bool) -> str | None:
    if value is None:
        return None
    from urllib.parse import urlsplit

    parts = urlsplit(value)
    schemes = ("https",) if https_only else ("http", "https")
    if parts.scheme not in schemes or not parts.netloc:
        raise _invalid(f"{where} {value!r} must be a valid {' or '.join(schemes)} URL")
    return value


def parse_manifest(text: str) -> dict[str, Any]:
    """Validate `extension.toml` text and return the effective manifest (defaults applied)."""
    import tomllib

    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise _invalid(f"is not valid TOML: {exc}") from None
    return validate_manifest(data)


def validate_manifest(data: dict[str, Any]) -> dict[str, Any]:
    name = data.get("name")
    if not isinstance(name, str) or not name.strip():
        raise _invalid(f"name must be a non-empty string, got {name!r}")
    version = data.get("version")
    if not isinstance(version, str) or not is_strict_semver(version):
        raise _invalid(f"version must be strict SemVer (e.g. 1.2.3 or 2.0.0-beta.1), got {version!r}")

    host_section = data.get("host")
    runtime_section = data.get("runtime")
    if host_section is None and runtime_section is None:
        raise _invalid("needs a [host] section (or the legacy [runtime] section); neither is present")

    agent_extra: dict[str, Any] = {}
    if host_section is not None:
        if not isinstance(host_section, dict):
            raise _invalid("[host] must be a table")
        host_type = host_section.get("type")
        if host_type not in ("agent", "app"):
            raise _invalid(f"[host] type must be \"agent\" or \"app\", got {host_type!r}")
        form = "host"
        if host_type == "agent":
            agent = host_section.get("agent", {})
            if not isinstance(agent, dict):
                raise _invalid("[host.agent] must be a table")
            runtime = agent.get("runtime", "python")
            if runtime != "python":
                raise _invalid(f"[host.agent] runtime must be \"python\", got {runtime!r}")
            host: dict[str, Any] = {"type": "agent", "agent": {
                "runtime": "python",
                "entry": _path(agent.get("entry"), "[host.agent] entry"),
                "python_version": agent.get("python_version", DEFAULT_PYTHON_VERSION),
                "requirements": _path(agent.get("requirements"), "[host.agent] requirements"),
            }}
            if host["agent"]["entry"] is None:
                raise _invalid("[host.agent] entry is required (e.g. entry = \"main.py\")")
            agent_extra = agent
        else:
            app = host_section.get("app", {})
            if not isinstance(app, dict):
                raise _invalid("[host.app] must be a table")
            kind = app.get("kind", "web_app")
            if not isinstance(kind, str) or not kind:
                raise _invalid(f"[host.app] kind must be a non-empty string, got {kind!r}")
            entry = _path(app.get("entry"), "[host.app] entry")
            if entry is None:
                raise _invalid("[host.app] entry is required (e.g. entry = \"dist/index.html\")")
            host = {"type": "app", "app": {"kind": kind, "entry": entry}}
    else:
        if not isinstance(runtime_section, dict):
            raise _invalid("[runtime] must be a table")
        rtype = runtime_section.get("type")
        if rtype != "python":
            raise _invalid(f"[runtime] type must be \"python\", got {rtype!r}")
        form = "runtime"
        host = {"type": "agent", "agent": {
            "runtime": "python",
            "entry": _path(runtime_section.get("entry"), "[runtime] entry"),
            "python_version": runtime_section.get("python_version", DEFAULT_PYTHON_VERSION),
            "requirements": _path(runtime_section.get("requirements"), "[runtime] requirements"),
        }}
        if host["agent"]["entry"] is None:
            raise _invalid("[runtime] entry is required (e.g. entry = \"main.py\")")
        agent_extra = runtime_section

    if host["type"] == "agent":
        py = host["agent"]["python_version"]
        if not isinstance(py, str) or not _PY_VERSION.match(py):
            raise _invalid(f"python_version must be major.minor such as \"3.11\", got {py!r}")

    # The host range: `[core] version` (this host's own table) or `[zelos] version` (the Zelos seed's
    # name, which published Zelos manifests use). Both naming different ranges is ambiguous.
    named = {}
    for table in ("core", "zelos"):
        section = data.get(table, {})
        if not isinstance(section, dict):
            raise _invalid(f"[{table}] must be a table")
        if "version" in section:
            named[table] = section["version"]
    if len(set(map(repr, named.values()))) > 1:
        raise _invalid(f"[core] version {named['core']!r} and [zelos] version {named['zelos']!r} differ; name the host range once")
    table = next(iter(named), "core")
    host_range = named.get(table, DEFAULT_HOST_RANGE[host["type"]])
    try:
        Range.parse(host_range)
    except InvalidRange as exc:
        raise _invalid(f"[{table}] version is not a valid npm-style range: {exc}") from None

    workdir = _path(_merged(agent_extra, data, "workdir"), "workdir", ".")

    targets = _merged(agent_extra, data, "targets")
    targets = [] if targets is None else targets
    from .platforms import KNOWN_TARGETS

    if not isinstance(targets, list) or not all(isinstance(t, str) for t in targets):
        raise _invalid(f"targets must be an array of strings, got {targets!r}")
    for target in targets:
        if target not in KNOWN_TARGETS:
            raise _invalid(f"target {target!r} is unknown; valid targets: {', '.join(KNOWN_TARGETS)}")

    env = _merged(agent_extra, data, "env")
    env = {} if env is None else env
    if not isinstance(env, dict):
        raise _invalid(f"env must be a table of strings, got {env!r}")
    for key, value in env.items():
        if not _ENV_KEY.match(key):
            raise _invalid(f"env key {key!r} is not a valid environment variable name")
        if key.upper().startswith(RESERVED_ENV_PREFIX):
            raise HostError(
                "reserved_env_key",
                f"extension.toml: env key {key!r} uses the reserved prefix {RESERVED_ENV_PREFIX}; "
                f"the host sets those itself. Rename the variable.",
            )
        if not isinstance(value, str):
            raise _invalid(f"env value of {key!r} must be a string, got {value!r}")

    stop = _merged(agent_extra, data, "stop")
    stop = {} if stop is None else stop
    if not isinstance(stop, dict):
        raise _invalid("[stop] must be a table")
    grace = stop.get("grace_seconds", DEFAULT_GRACE_SECONDS)
    if isinstance(grace, bool) or not isinstance(grace, int):
        raise _invalid(f"stop.grace_seconds must be an integer number of seconds, got {grace!r}")
    if not GRACE_RANGE[0] <= grace <= GRACE_RANGE[1]:
        raise _invalid(f"stop.grace_seconds is {grace}; valid range is {GRACE_RANGE[0]}-{GRACE_RANGE[1]}")

    config = data.get("config")
    if config is not None:
        if not isinstance(config, dict):
            raise _invalid("[config] must be a table")
        config = {"schema": _path(config.get("schema"), "[config] schema", DEFAULT_SCHEMA)}

    return {
        "name": name,
        "version": version,
        "description": _opt_str(data, "description"),
        "author": _opt_str(data, "author"),
        "repository": _url(_opt_str(data, "repository"), "repository", https_only=True),
        "homepage": _url(_opt_str(data, "homepage"), "homepage", https_only=False),
        "icon": _path(data.get("icon"), "icon"),
        "readme": _path(data.get("readme"), "readme"),
        "keywords": _str_list(data, "keywords", MAX_KEYWORDS),
        "categories": _str_list(data, "categories", MAX_CATEGORIES),
        "core": {"version": host_range},
        "host": host,
        "workdir": workdir,
        "targets": list(targets),
        "env": dict(env),
        "stop": {"grace_seconds": grace},
        "config": config,
        "form": form,
    }
