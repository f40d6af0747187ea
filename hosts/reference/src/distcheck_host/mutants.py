"""Hook for deliberately broken builds ("mutants") that prove a suite can fail.

A mutant is named at image build time in build.toml (`mutant = "..."`). Code that implements a
one-clause breakage asks `mutant_enabled("<name>")`. No mutants are implemented yet; a normal build
has no mutant and every call answers False.
"""

from __future__ import annotations

from functools import lru_cache


@lru_cache(maxsize=1)
def active_mutant() -> str | None:
    from .config import read_build_file

    value = read_build_file().get("mutant")
    return value or None


def mutant_enabled(name: str) -> bool:
    return active_mutant() == name
