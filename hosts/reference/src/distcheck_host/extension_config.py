"""Archive extension configuration (ARC-14): config.json from the schema's defaults when nothing is saved."""

from __future__ import annotations

import copy
import json
import os
from typing import Any

from .errors import HostError


def schema_defaults(schema: Any) -> Any:
    """Defaults of a JSON Schema object, nested objects included; None when there are none.

    An explicit `default` wins; for objects, missing keys are then filled from the properties' own
    defaults, so `{"default": {"a": 1}, "properties": {"b": {"default": 2}}}` gives {"a": 1, "b": 2}.
    """
    if not isinstance(schema, dict):
        return None
    value = copy.deepcopy(schema["default"]) if "default" in schema else None
    properties = schema.get("properties")
    if isinstance(properties, dict) and (value is None or isinstance(value, dict)):
        nested: dict[str, Any] = {}
        for name, sub in properties.items():
            sub_default = schema_defaults(sub)
            if sub_default is not None:
                nested[name] = sub_default
        if nested or value is not None:
            value = {**nested, **(value or {})}
    return value


def load_schema(code_dir: str, schema_rel: str) -> dict[str, Any]:
    path = os.path.join(code_dir, *schema_rel.split("/"))
    try:
        with open(path, "rb") as handle:
            schema = json.load(handle)
    except FileNotFoundError:
        raise HostError(
            "manifest_invalid",
            f"extension.toml: [config] schema {schema_rel!r} is not in the archive. Ship the schema file or fix the path.",
        ) from None
    except (OSError, ValueError) as exc:
        raise HostError("manifest_invalid", f"extension.toml: [config] schema {schema_rel!r} is not valid JSON: {exc}.") from None
    if not isinstance(schema, dict):
        raise HostError("manifest_invalid", f"extension.toml: [config] schema {schema_rel!r} must be a JSON object, got {type(schema).__name__}.")
    return schema


def initial_config(code_dir: str, manifest: dict[str, Any]) -> dict[str, Any]:
    config = manifest.get("config")
    if not config:
        return {}
    defaults = schema_defaults(load_schema(code_dir, config["schema"]))
    return defaults if isinstance(defaults, dict) else {}
