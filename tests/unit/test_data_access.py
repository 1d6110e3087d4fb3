"""The data-access rule (docs/architecture.md): above the core, only a domain's
`queries.py` builds SQL statements; `models.py` may use them in column definitions."""

from __future__ import annotations

import ast
from pathlib import Path

import service

SERVICE = Path(service.__file__).parent
# The infrastructure the rule stands on (the core layer in pyproject.toml's contract).
CORE = frozenset({"db.py", "pagination.py", "health.py", "calls", "migrations", "sqlite_driver.py"})
ALLOWED_MODULES = frozenset({"queries.py", "models.py"})
# What builds or shapes a statement: a module that imports one of these runs SQL of its own.
STATEMENT_BUILDERS = frozenset(
    {
        "select",
        "insert",
        "update",
        "delete",
        "text",
        "func",
        "bindparam",
        "exists",
        "and_",
        "or_",
        "not_",
        "case",
        "literal",
        "literal_column",
        "union",
        "union_all",
        "tuple_",
        "selectinload",
        "joinedload",
        "subqueryload",
        "contains_eager",
        "load_only",
        "raiseload",
        "aliased",
    }
)


def _statement_imports(path: Path) -> set[str]:
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.ImportFrom) and (node.module or "").split(".")[0] == "sqlalchemy":
            names = {alias.name for alias in node.names}
            found |= names & STATEMENT_BUILDERS
            if node.module == "sqlalchemy.dialects":  # postgresql.insert(...): upserts
                found |= names
        elif isinstance(node, ast.Import) and any(a.name == "sqlalchemy" for a in node.names):
            found.add("sqlalchemy")  # the whole package: sqlalchemy.select(...) and friends
    return found


def _modules_above_the_core() -> list[Path]:
    modules = []
    for path in sorted(SERVICE.rglob("*.py")):
        top = path.relative_to(SERVICE).parts[0]
        if top in CORE or path.name in ALLOWED_MODULES:
            continue
        modules.append(path)
    return modules


def test_only_query_modules_build_statements() -> None:
    offenders = {
        str(path.relative_to(SERVICE.parent)): sorted(names)
        for path in _modules_above_the_core()
        if (names := _statement_imports(path))
    }
    assert offenders == {}, (
        "SQL statements belong in the domain's queries.py (docs/architecture.md, "
        f"data access): {offenders}"
    )


def test_the_check_sees_a_statement(tmp_path: Path) -> None:
    sample = tmp_path / "service.py"
    sample.write_text(
        "from sqlalchemy import select, func\n"
        "from sqlalchemy.orm import Mapped\n"
        "from sqlalchemy.dialects import postgresql\n"
    )
    assert _statement_imports(sample) == {"select", "func", "postgresql"}
