"""The licences of what Tutor installs to run, read from the installed packages' metadata.

    .venv/bin/python -m bench.licences

prints the table that docs/licences.md holds: every distribution that
`pip install 'tutor-service[postgres,redis]'` brings on this machine (what the Docker
image holds), the licence its metadata declares, and which part of the install brings it:
the base install (SQLite only) or an extra. tests/system/test_licences.py checks the
document against it, and every licence against the project's allow-list.

Each licence is read from the first of: the `License-Expression` field (an SPDX
expression), a short `License` field, the first line of a `License` field that holds the
whole text, the trove classifiers. A distribution that declares none of them shows `-`.
"""

from __future__ import annotations

import re
import tomllib
from collections.abc import Iterable
from dataclasses import dataclass
from importlib.metadata import Distribution, PackageNotFoundError, distribution
from pathlib import Path

from packaging.requirements import Requirement
from packaging.utils import NormalizedName, canonicalize_name

ROOT = Path(__file__).resolve().parents[1]
# The extras a deployment installs to run (the Docker image installs both); `optimizer`
# is a feature nobody needs to run Tutor, and `dev` is the test tools.
RUNTIME_EXTRAS = ("postgres", "redis")
BASE = "base"
UNDECLARED = "-"

# What packages write in `License` or their classifiers, as SPDX identifiers. "BSD"
# stays "BSD": the package does not say which of the BSD licences it means.
_NAMES = {
    "apache 2.0": "Apache-2.0",
    "apache software license": "Apache-2.0",
    "bsd": "BSD",
    "bsd license": "BSD",
    "isc license": "ISC",
    "isc license (iscl)": "ISC",
    "mit license": "MIT",
    "mozilla public license 2.0 (mpl 2.0)": "MPL-2.0",
    "python software foundation license": "PSF-2.0",
}
_SHORT_LICENCE = 60  # longer `License` fields hold the licence's whole text
_CLASSIFIER = "License :: OSI Approved :: "


@dataclass(frozen=True)
class Licensed:
    """One installed distribution and the licence its metadata declares."""

    name: NormalizedName
    version: str
    licence: str  # an SPDX expression, or UNDECLARED
    brought_by: str  # BASE or the extra's name


class NotInstalled(Exception):
    """A runtime dependency missing from this environment: its licence cannot be read."""


def runtime_requirements() -> dict[str, list[Requirement]]:
    """pyproject.toml's requirements: the base install's, then each runtime extra's."""
    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    extras = project["optional-dependencies"]
    parts = {BASE: project["dependencies"]} | {name: extras[name] for name in RUNTIME_EXTRAS}
    return {part: [Requirement(line) for line in lines] for part, lines in parts.items()}


def runtime_distributions() -> list[Licensed]:
    """Every distribution the base install and the runtime extras bring, named once, by
    the first part that brings it."""
    found: dict[NormalizedName, Licensed] = {}
    for part, requirements in runtime_requirements().items():
        for dist in _closure(requirements):
            name = canonicalize_name(dist.metadata["Name"])
            if name not in found:
                found[name] = Licensed(name, dist.version, licence_of(dist), part)
    return sorted(found.values(), key=lambda licensed: licensed.name)


def _closure(requirements: Iterable[Requirement]) -> list[Distribution]:
    """The installed distributions that `requirements` need, on this platform."""
    wanted = [(requirement, "") for requirement in requirements]
    seen: dict[tuple[NormalizedName, str], Distribution] = {}
    while wanted:
        requirement, extra = wanted.pop()
        if requirement.marker and not requirement.marker.evaluate({"extra": extra}):
            continue
        name = canonicalize_name(requirement.name)
        for asked in ("", *requirement.extras):
            if (name, asked) in seen:
                continue
            dist = _installed(requirement.name)
            seen[(name, asked)] = dist
            wanted.extend((Requirement(line), asked) for line in dist.requires or [])
    return list({id(dist): dist for dist in seen.values()}.values())


def _installed(name: str) -> Distribution:
    try:
        return distribution(name)
    except PackageNotFoundError:
        raise NotInstalled(f"{name} is not installed: pip install -e '.[dev]'") from None


def _field(dist: Distribution, name: str) -> str:
    values = dist.metadata.get_all(name) or []
    return str(values[0]).strip() if values else ""


def licence_of(dist: Distribution) -> str:
    expression = _field(dist, "License-Expression")
    if expression:
        return expression
    field = _field(dist, "License")
    if field and len(field) <= _SHORT_LICENCE and "\n" not in field:
        return _NAMES.get(field.lower(), field)
    if field and field.splitlines()[0].strip().lower() in _NAMES:
        return _NAMES[field.splitlines()[0].strip().lower()]
    classified = [
        _NAMES.get(classifier.removeprefix(_CLASSIFIER).lower(), classifier)
        for classifier in dist.metadata.get_all("Classifier") or []
        if classifier.startswith(_CLASSIFIER)
    ]
    return " OR ".join(dict.fromkeys(classified)) or UNDECLARED


def licence_terms(expression: str) -> set[str]:
    """The licence identifiers an SPDX expression names (`(MIT OR Apache-2.0) AND X`)."""
    return {term for term in re.split(r"\s+(?:AND|OR|WITH)\s+|[()]", expression) if term.strip()}


def table(distributions: Iterable[Licensed]) -> str:
    """The Markdown table docs/licences.md holds."""
    rows = ["| Distribution | Licence | Brought by |", "| --- | --- | --- |"]
    rows += [f"| {d.name} | {d.licence} | {d.brought_by} |" for d in distributions]
    return "\n".join(rows)


def main() -> None:
    print(table(runtime_distributions()))


if __name__ == "__main__":
    main()
