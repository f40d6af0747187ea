"""Host configuration (HST-01): one typed contract, documented defaults in one place.

Precedence, highest first: command line, environment (`DISTCHECK_HOST_<KEY>`), TOML file
(`--config`, else `$DISTCHECK_HOST_CONFIG`, else /etc/distcheck-host/config.toml when it exists),
then defaults. Build-time values from build.toml (`core_version`, `agent_version`) replace the
built-in defaults and are reported with source "default"; its `mutant` is only reported (/api/version).
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from typing import Any, Callable, Mapping

from . import __version__
from .errors import HostError

DEFAULT_CONFIG_FILE = "/etc/distcheck-host/config.toml"
DEFAULT_BUILD_FILE = "/etc/distcheck-host/build.toml"
ENV_PREFIX = "DISTCHECK_HOST_"


def _parse_int(text: str) -> int:
    return int(text.strip(), 10)


def _parse_float(text: str) -> float:
    return float(text.strip())


def _parse_list(text: str) -> list[str]:
    return [part.strip() for part in text.split(",") if part.strip()]


def _parse_bool(text: str) -> bool:
    word = text.strip().lower()
    if word in ("true", "1", "yes", "on"):
        return True
    if word in ("false", "0", "no", "off"):
        return False
    raise ValueError(text)


@dataclass(frozen=True)
class Key:
    name: str
    kind: str  # int | float | str | list | bool
    default: Any
    help: str
    minimum: float | None = None
    maximum: float | None = None

    def parse_text(self, text: str) -> Any:
        parser: Callable[[str], Any] = {
            "int": _parse_int,
            "float": _parse_float,
            "str": str,
            "list": _parse_list,
            "bool": _parse_bool,
        }[self.kind]
        return parser(text)


KEYS: tuple[Key, ...] = (
    Key("bind", "str", "0.0.0.0", "address the HTTP server binds to"),
    Key("port", "int", 8765, "TCP port (0 picks a free one)", 0, 65535),
    Key("data_dir", "str", "/var/lib/distcheck-host", "agent data directory"),
    Key("entry_point_group", "str", "distcheck.extensions", "entry point group of wheel extensions"),
    Key("disabled", "list", [], "extension ids that are not set up (WHL-07)"),
    Key("graceful_timeout", "float", 10.0, "seconds for shutdown callbacks on SIGTERM", 0),
    Key("max_download_bytes", "int", 524288000, "largest accepted archive download", 1),
    Key("download_timeout", "float", 60.0, "seconds a download may take", 0.001),
    Key("max_extracted_bytes", "int", 2147483648, "largest total extracted size", 1),
    Key("max_files", "int", 10000, "most files an archive may contain", 1),
    Key("poll_interval", "float", 0.05, "seconds between exit polls after SIGTERM (ARC-15)", 0.001),
    Key("kill_confirm", "float", 1.0, "seconds to confirm exit after SIGKILL (ARC-15)", 0.001),
    Key("start_check", "float", 1.0, "an upgraded extension that exits within this many seconds failed to start (ARC-16)", 0),
    Key("platform", "str", "", "platform target of this host, e.g. linux-x86_64 (empty: detected)"),
    Key("plugins_root", "str", "/opt/distcheck-plugins", "folder whose plugins/<slug>/plugin.yaml are plugin directories (DIR)"),
    Key("plugin_group", "str", "distcheck.plugins", "entry point group of plugins shipped as wheels (DIR-03)"),
    Key("core_version", "str", __version__, "PEP 440 version WHL requires_core_version is checked against"),
    Key("agent_version", "str", "25.1.0", "SemVer version ARC host version ranges are checked against"),
    Key("kernel_root", "str", "/opt/distcheck-kernel", "folder whose domains/<domain>/plugins/*.py the plugin kernel loads (KRN)"),
    Key("bundles_enabled", "bool", True, "whether bundles can be imported over HTTP and activated (BND)"),
)
KEYS_BY_NAME = {key.name: key for key in KEYS}


def read_build_file(env: Mapping[str, str] | None = None) -> dict[str, Any]:
    """Build-time settings baked into the image; {} when the file does not exist."""
    import tomllib

    env = os.environ if env is None else env
    path = env.get("DISTCHECK_HOST_BUILD_FILE", DEFAULT_BUILD_FILE)
    try:
        with open(path, "rb") as handle:
            data = tomllib.load(handle)
    except FileNotFoundError:
        return {}
    except (OSError, tomllib.TOMLDecodeError) as exc:
        raise HostError("config_invalid", f"build file {path} could not be read: {exc}. Fix or remove it.")
    allowed = {"core_version", "agent_version", "mutant"}
    unknown = sorted(set(data) - allowed)
    if unknown:
        raise HostError(
            "config_invalid",
            f"build file {path} has unknown key(s) {', '.join(unknown)}; valid keys: {', '.join(sorted(allowed))}.",
        )
    for name, value in data.items():
        if not isinstance(value, str):
            raise HostError("config_invalid", f"build file {path}: {name} must be a string, got {value!r}.")
    return data


@dataclass
class Config:
    values: dict[str, Any]
    sources: dict[str, str] = field(default_factory=dict)
    file: str | None = None
    # The name build.toml gives the image's deliberate breakage (edits applied to the source when the
    # image was built, see hosts/reference/mutants/); None for a normal build. Not a setting.
    mutant: str | None = None

    def __getattr__(self, name: str) -> Any:
        try:
            return self.__dict__["values"][name]
        except KeyError:
            raise AttributeError(name) from None

    def as_json(self) -> dict[str, Any]:
        return {
            "values": dict(self.values),
            "sources": dict(self.sources),
            "file": self.file,
        }


def _coerce(key: Key, value: Any, where: str) -> Any:
    """Validate one value; `where` names its origin for the error message."""
    if isinstance(value, str) and key.kind != "str":
        try:
            value = key.parse_text(value)
        except ValueError:
            raise HostError(
                "config_invalid",
                f"{key.name} from {where} must be {'an integer' if key.kind == 'int' else 'a number' if key.kind == 'float' else 'true or false' if key.kind == 'bool' else 'a list'}, got {value!r}.",
            ) from None
    if key.kind == "int":
        if isinstance(value, bool) or not isinstance(value, int):
            raise HostError("config_invalid", f"{key.name} from {where} must be an integer, got {value!r}.")
    elif key.kind == "float":
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise HostError("config_invalid", f"{key.name} from {where} must be a number of seconds, got {value!r}.")
        value = float(value)
    elif key.kind == "str":
        if not isinstance(value, str):
            raise HostError("config_invalid", f"{key.name} from {where} must be a string, got {value!r}.")
    elif key.kind == "list":
        if not isinstance(value, list) or not all(isinstance(item, str) for item in value):
            raise HostError("config_invalid", f"{key.name} from {where} must be a list of strings, got {value!r}.")
        value = list(value)
    elif key.kind == "bool":
        if not isinstance(value, bool):
            raise HostError("config_invalid", f"{key.name} from {where} must be true or false, got {value!r}.")
    if key.minimum is not None and value < key.minimum:
        raise HostError("config_invalid", f"{key.name} from {where} is {value}; the minimum is {key.minimum:g}.")
    if key.maximum is not None and value > key.maximum:
        raise HostError("config_invalid", f"{key.name} from {where} is {value}; the maximum is {key.maximum:g}.")
    return value


def _check_versions(values: dict[str, Any], sources: dict[str, str]) -> None:
    from packaging.version import InvalidVersion, Version

    from .versions import SemVer

    try:
        Version(values["core_version"])
    except InvalidVersion:
        raise HostError(
            "config_invalid",
            f"core_version {values['core_version']!r} (from {sources['core_version']}) is not a PEP 440 version, e.g. 0.8.0 or 0.8.0rc1.",
        ) from None
    try:
        SemVer.parse(values["agent_version"])
    except ValueError:
        raise HostError(
            "config_invalid",
            f"agent_version {values['agent_version']!r} (from {sources['agent_version']}) is not a strict SemVer version, e.g. 25.1.0.",
        ) from None


def load_config(
    cli: Mapping[str, Any] | None = None,
    env: Mapping[str, str] | None = None,
    config_file: str | None = None,
) -> Config:
    """Resolve the effective configuration. `cli` holds only options given on the command line."""
    import tomllib

    env = os.environ if env is None else env
    cli = {name: value for name, value in (cli or {}).items() if value is not None}
    values: dict[str, Any] = {key.name: key.default for key in KEYS}
    sources = {key.name: "default" for key in KEYS}

    build = read_build_file(env)
    for name in ("core_version", "agent_version"):
        if name in build:
            values[name] = build[name]

    path = config_file or env.get("DISTCHECK_HOST_CONFIG")
    if path is None and os.path.exists(DEFAULT_CONFIG_FILE):
        path = DEFAULT_CONFIG_FILE
    if path is not None:
        try:
            with open(path, "rb") as handle:
                data = tomllib.load(handle)
        except FileNotFoundError:
            raise HostError("config_invalid", f"configuration file {path} does not exist; pass an existing file or none.") from None
        except (OSError, tomllib.TOMLDecodeError) as exc:
            raise HostError("config_invalid", f"configuration file {path} could not be read: {exc}.") from None
        for name, value in data.items():
            key = KEYS_BY_NAME.get(name)
            if key is None:
                raise HostError(
                    "config_invalid",
                    f"configuration file {path} has unknown key {name!r}; valid keys: {', '.join(KEYS_BY_NAME)}.",
                )
            values[name] = _coerce(key, value, f"file {path}")
            sources[name] = "file"

    for key in KEYS:
        env_name = ENV_PREFIX + key.name.upper()
        if env_name in env:
            values[key.name] = _coerce(key, env[env_name], f"environment {env_name}")
            sources[key.name] = "env"

    for name, value in cli.items():
        key = KEYS_BY_NAME.get(name)
        if key is None:
            raise HostError("config_invalid", f"unknown option {name!r}; valid keys: {', '.join(KEYS_BY_NAME)}.")
        values[name] = _coerce(key, value, f"command line --{name.replace('_', '-')}")
        sources[name] = "cli"

    _check_versions(values, sources)
    if not values["platform"]:
        from .platforms import host_platform

        values["platform"] = host_platform()
    return Config(values=values, sources=sources, file=path, mutant=build.get("mutant") or None)
