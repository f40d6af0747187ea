"""Version rules: PEP 440 for wheel extensions (WHL-08/09/10), strict SemVer and npm-style ranges for
archive extensions (ARC-09/11).

The range grammar follows node-semver (`semver.satisfies` without `includePrerelease`):
comparators (`<`, `<=`, `>`, `>=`, `=`), `~` / `~>`, `^`, x-ranges (`1.x`, `1.2.*`, `*`, ``),
hyphen ranges (`1.2.3 - 2.3.4`) and `||`. A prerelease version satisfies a comparator set only when
a comparator in that set carries a prerelease on the same major.minor.patch. One addition taken from
the Zelos seed (`>=25.0.0, <26.0.0`): a comma between comparators means the same as a space.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import total_ordering

# --- PEP 440 -------------------------------------------------------------------------------------


def pep440_contains(specifier: str, version: str) -> bool:
    """True when `version` matches `specifier`, pre-releases included (WHL-08).

    Raises packaging's InvalidSpecifier / InvalidVersion for malformed input.
    """
    from packaging.specifiers import SpecifierSet
    from packaging.version import Version

    return SpecifierSet(specifier).contains(Version(version), prereleases=True)


_REQUIREMENT = re.compile(r"^\s*([A-Za-z0-9](?:[A-Za-z0-9._-]*[A-Za-z0-9])?)\s*(.*?)\s*$")


def parse_extension_requirement(text: str) -> tuple[str, str]:
    """Split `id` or `id<specifier>` (e.g. `com.toposync.cameras>=0.1.0`) into (id, specifier).

    Raises ValueError when the id is malformed and packaging's InvalidSpecifier when the specifier is.
    """
    from packaging.specifiers import SpecifierSet

    if not isinstance(text, str):
        raise ValueError(f"requirement must be a string, got {text!r}")
    match = _REQUIREMENT.match(text)
    if match is None:
        raise ValueError(f"requirement {text!r} does not start with an extension id")
    ext_id, spec = match.group(1), match.group(2)
    if spec:
        SpecifierSet(spec)
    return ext_id, spec


# --- SemVer --------------------------------------------------------------------------------------

_NUM = r"0|[1-9]\d*"
_PRE_ID = r"(?:0|[1-9]\d*|\d*[A-Za-z-][0-9A-Za-z-]*)"
_PRE = rf"{_PRE_ID}(?:\.{_PRE_ID})*"
_BUILD = r"[0-9A-Za-z-]+(?:\.[0-9A-Za-z-]+)*"
_SEMVER = re.compile(rf"^({_NUM})\.({_NUM})\.({_NUM})(?:-({_PRE}))?(?:\+({_BUILD}))?$")


@total_ordering
@dataclass(frozen=True)
class SemVer:
    major: int
    minor: int
    patch: int
    prerelease: tuple[int | str, ...] = ()
    build: str = ""

    @classmethod
    def parse(cls, text: str) -> "SemVer":
        """Strict SemVer 2.0.0 (no leading `v`, no leading zeros). Raises ValueError."""
        match = _SEMVER.match(text) if isinstance(text, str) else None
        if match is None:
            raise ValueError(f"{text!r} is not a strict SemVer version (MAJOR.MINOR.PATCH[-pre][+build])")
        pre = tuple(int(part) if part.isdigit() else part for part in match.group(4).split(".")) if match.group(4) else ()
        return cls(int(match.group(1)), int(match.group(2)), int(match.group(3)), pre, match.group(5) or "")

    def tuple3(self) -> tuple[int, int, int]:
        return (self.major, self.minor, self.patch)

    def _key(self) -> tuple:
        # A release sorts after all of its prereleases; numeric identifiers sort before alphanumeric.
        if not self.prerelease:
            return (self.major, self.minor, self.patch, 1, ())
        parts = tuple((0, part, "") if isinstance(part, int) else (1, 0, part) for part in self.prerelease)
        return (self.major, self.minor, self.patch, 0, parts)

    def __lt__(self, other: "SemVer") -> bool:
        return self._key() < other._key()

    def __eq__(self, other: object) -> bool:
        return isinstance(other, SemVer) and self._key() == other._key()

    def __hash__(self) -> int:
        return hash(self._key())

    def __str__(self) -> str:
        text = f"{self.major}.{self.minor}.{self.patch}"
        if self.prerelease:
            text += "-" + ".".join(str(part) for part in self.prerelease)
        return text


def is_strict_semver(text: str) -> bool:
    try:
        SemVer.parse(text)
    except ValueError:
        return False
    return True


# --- npm ranges ----------------------------------------------------------------------------------

_XR = r"(?:[xX*]|0|[1-9]\d*)"
_PARTIAL = re.compile(rf"^v?({_XR})(?:\.({_XR})(?:\.({_XR})(?:-({_PRE}))?(?:\+({_BUILD}))?)?)?$")
_OPERATOR = re.compile(r"^(<=|>=|<|>|=|~>|~|\^)?\s*(.*)$")


class InvalidRange(ValueError):
    pass


@dataclass(frozen=True)
class Comparator:
    op: str  # "<", "<=", ">", ">=", "=", or "" for "any version"
    version: SemVer | None = None

    def test(self, version: SemVer) -> bool:
        if self.op == "":
            return True
        assert self.version is not None
        if self.op == "<":
            return version < self.version
        if self.op == "<=":
            return version <= self.version
        if self.op == ">":
            return version > self.version
        if self.op == ">=":
            return version >= self.version
        return version == self.version

    def __str__(self) -> str:
        return "*" if self.op == "" else f"{self.op}{self.version}"


ANY = Comparator("")
NOTHING = Comparator("<", SemVer(0, 0, 0, (0,)))


@dataclass(frozen=True)
class _Partial:
    major: int | None
    minor: int | None
    patch: int | None
    prerelease: tuple[int | str, ...]

    def floor(self) -> SemVer:
        return SemVer(self.major or 0, self.minor or 0, self.patch or 0, self.prerelease)


def _is_x(part: str | None) -> bool:
    return part is None or part in ("x", "X", "*")


def _parse_partial(text: str, whole: str) -> _Partial:
    match = _PARTIAL.match(text)
    if match is None:
        raise InvalidRange(f"range {whole!r}: {text!r} is not a version or partial version (e.g. 1, 1.2, 1.2.3, 1.x, *)")
    major, minor, patch, pre = match.group(1), match.group(2), match.group(3), match.group(4)
    values: list[int | None] = []
    wild = False
    for part in (major, minor, patch):
        if _is_x(part) or wild:
            wild = True
            values.append(None)
        else:
            values.append(int(part))
    prerelease = tuple(int(p) if p.isdigit() else p for p in pre.split(".")) if pre and not wild else ()
    return _Partial(values[0], values[1], values[2], prerelease)


def _upper(major: int, minor: int = 0, patch: int = 0) -> Comparator:
    """`<M.m.p-0`: excludes every prerelease of the bound as well."""
    return Comparator("<", SemVer(major, minor, patch, (0,)))


def _desugar_tilde(p: _Partial) -> list[Comparator]:
    if p.major is None:
        return [ANY]
    if p.minor is None:
        return [Comparator(">=", SemVer(p.major, 0, 0)), _upper(p.major + 1)]
    return [Comparator(">=", p.floor()), _upper(p.major, p.minor + 1)]


def _desugar_caret(p: _Partial) -> list[Comparator]:
    if p.major is None:
        return [ANY]
    if p.minor is None:
        return [Comparator(">=", SemVer(p.major, 0, 0)), _upper(p.major + 1)]
    if p.patch is None:
        if p.major == 0:
            return [Comparator(">=", SemVer(0, p.minor, 0)), _upper(0, p.minor + 1)]
        return [Comparator(">=", SemVer(p.major, p.minor, 0)), _upper(p.major + 1)]
    low = Comparator(">=", p.floor())
    if p.major == 0:
        if p.minor == 0:
            return [low, _upper(0, 0, p.patch + 1)]
        return [low, _upper(0, p.minor + 1)]
    return [low, _upper(p.major + 1)]


def _desugar_primitive(op: str, p: _Partial) -> list[Comparator]:
    if p.major is None:
        return [NOTHING] if op in ("<", ">") else [ANY]
    if p.minor is None or p.patch is None:
        # An x-range with an operator.
        if op in ("", "="):
            if p.minor is None:
                return [Comparator(">=", SemVer(p.major, 0, 0)), _upper(p.major + 1)]
            return [Comparator(">=", SemVer(p.major, p.minor, 0)), _upper(p.major, p.minor + 1)]
        if op == ">":
            if p.minor is None:
                return [Comparator(">=", SemVer(p.major + 1, 0, 0))]
            return [Comparator(">=", SemVer(p.major, p.minor + 1, 0))]
        if op == ">=":
            return [Comparator(">=", p.floor())]
        if op == "<":
            return [Comparator("<", SemVer(p.major, p.minor or 0, 0, (0,)))]
        # "<="
        if p.minor is None:
            return [_upper(p.major + 1)]
        return [_upper(p.major, p.minor + 1)]
    return [Comparator(op or "=", p.floor())]


def _hyphen(low: _Partial, high: _Partial) -> list[Comparator]:
    result: list[Comparator] = []
    if low.major is not None:
        result.append(Comparator(">=", low.floor()))
    if high.major is None:
        pass
    elif high.minor is None:
        result.append(_upper(high.major + 1))
    elif high.patch is None:
        result.append(_upper(high.major, high.minor + 1))
    else:
        result.append(Comparator("<=", high.floor()))
    return result or [ANY]


_HYPHEN = re.compile(r"^\s*(\S+)\s+-\s+(\S+)\s*$")


def _parse_set(text: str, whole: str) -> list[Comparator]:
    text = text.strip()
    hyphen = _HYPHEN.match(text)
    if hyphen:
        return _hyphen(_parse_partial(hyphen.group(1), whole), _parse_partial(hyphen.group(2), whole))
    # Glue operators to their version ("> = 1" is not allowed, ">= 1" is), then split.
    text = re.sub(r"(<=|>=|~>|<|>|=|~|\^)\s+", r"\1", text)
    text = re.sub(r"\s*,\s*", " ", text)
    tokens = text.split()
    if not tokens:
        return [ANY]
    comparators: list[Comparator] = []
    for token in tokens:
        match = _OPERATOR.match(token)
        assert match is not None
        op, rest = match.group(1) or "", match.group(2)
        if not rest:
            raise InvalidRange(f"range {whole!r}: operator {op!r} has no version after it")
        partial = _parse_partial(rest, whole)
        if op in ("~", "~>"):
            comparators.extend(_desugar_tilde(partial))
        elif op == "^":
            comparators.extend(_desugar_caret(partial))
        else:
            comparators.extend(_desugar_primitive(op, partial))
    return comparators


@dataclass(frozen=True)
class Range:
    text: str
    sets: tuple[tuple[Comparator, ...], ...]

    @classmethod
    def parse(cls, text: str) -> "Range":
        if not isinstance(text, str):
            raise InvalidRange(f"range must be a string, got {text!r}")
        if len(text) > 256:
            raise InvalidRange(f"range is {len(text)} characters long; the limit is 256")
        sets = tuple(tuple(_parse_set(part, text)) for part in re.split(r"\s*\|\|\s*", text.strip()))
        return cls(text, sets)

    def satisfied_by(self, version: SemVer | str) -> bool:
        if isinstance(version, str):
            version = SemVer.parse(version)
        return any(_test_set(comparators, version) for comparators in self.sets)

    def __str__(self) -> str:
        return " || ".join(" ".join(str(c) for c in comparators) for comparators in self.sets)


def _test_set(comparators: tuple[Comparator, ...], version: SemVer) -> bool:
    if not all(c.test(version) for c in comparators):
        return False
    if version.prerelease:
        # npm: a prerelease only matches when some comparator opts into prereleases of that exact tuple.
        return any(
            c.version is not None and c.version.prerelease and c.version.tuple3() == version.tuple3()
            for c in comparators
        )
    return True


def satisfies(version: str, range_text: str) -> bool:
    """npm `semver.satisfies(version, range)`; raises InvalidRange / ValueError on bad input."""
    return Range.parse(range_text).satisfied_by(SemVer.parse(version))
