"""Every third-party package that Tutor's code imports is a declared dependency: one that
arrives only through another package's requirements can leave with that package's
next release (httpx2 and aiohttp came only through `openai[aiohttp]`)."""

from __future__ import annotations

import ast
import re
import sys
import tomllib
from importlib.metadata import packages_distributions
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
OWN = {"service", "scheduler", "prompts"}


def _imported() -> dict[str, set[str]]:
    """Top-level module name → the files that import it, for every import in our code."""
    found: dict[str, set[str]] = {}
    for package in OWN:
        for path in (ROOT / package).rglob("*.py"):
            for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
                if isinstance(node, ast.Import):
                    names = [alias.name for alias in node.names]
                elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                    names = [node.module]
                else:
                    continue
                for name in names:
                    found.setdefault(name.partition(".")[0], set()).add(str(path.relative_to(ROOT)))
    return found


def _normal(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


# The extras a deployment installs to run (docs/licences.md); their packages are imported
# only where they are configured (tests/system/test_optional_drivers.py).
RUNTIME_EXTRAS = ("postgres", "redis")


def test_every_third_party_import_is_a_declared_dependency() -> None:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    extras = project["optional-dependencies"]
    requirements = [*project["dependencies"], *(d for e in RUNTIME_EXTRAS for d in extras[e])]
    declared = {_normal(re.split(r"[\[<>=!~ ;]", d, maxsplit=1)[0]) for d in requirements}
    distributions = packages_distributions()
    undeclared = {}
    for module, files in _imported().items():
        if module in OWN or module in sys.stdlib_module_names or module == "__future__":
            continue
        providers = {_normal(d) for d in distributions.get(module, [module])}
        if not providers & declared:
            undeclared[module] = sorted(files)[:3]
    assert undeclared == {}, f"imported but not in [project] dependencies or extras: {undeclared}"
