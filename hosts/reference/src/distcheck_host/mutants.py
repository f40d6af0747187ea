"""Deliberately broken builds ("mutants") that prove the conformance suites can fail.

A mutant is named at image build time in build.toml (`mutant = "..."`) and breaks exactly one
clause; code that implements the breakage asks `mutant_enabled("<name>")`. The catalog of known
mutants is mutants.json beside this file (the harness reads the same file to know which suites
must kill each one). A normal build has no mutant and every call answers False; an unknown name
is refused, so a typo can never build a correct host that then "survives".
"""

from __future__ import annotations

import json
from functools import lru_cache
from importlib import resources

from .errors import HostError


@lru_cache(maxsize=1)
def known_mutants() -> dict[str, dict]:
    data = json.loads(resources.files(__package__).joinpath("mutants.json").read_text(encoding="utf-8"))
    return {entry["name"]: entry for entry in data["mutants"]}


@lru_cache(maxsize=1)
def active_mutant() -> str | None:
    from .config import read_build_file

    value = read_build_file().get("mutant") or None
    if value is not None and value not in known_mutants():
        raise HostError("config_invalid", f"unknown mutant {value!r} in the build file; known: {', '.join(sorted(known_mutants()))}.")
    return value


def mutant_enabled(name: str) -> bool:
    # Call sites are checked against the catalog by tests/test_mutants.py.
    return active_mutant() == name
