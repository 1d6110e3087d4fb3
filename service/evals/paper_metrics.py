"""What an explanation of a paper's passage does with the paper: defines the symbols it
uses as the paper did, and cites the paper's equations by number.

Measured the same way on the passage pasted and picked, so the two read side by side.
"""

from __future__ import annotations

import re

from service.evals.scenarios import PaperScenario

Scores = dict[str, float | None]

_WORD = re.compile(r"[a-z0-9]+")
# Words a few-word definition needs no match for.
_FILLER = frozenset({"a", "an", "the", "of", "and", "or", "to", "in", "on", "for", "by", "at"})


def _stem(word: str) -> str:
    """A crude singular, so "keys" is "key" and "queries" "query"."""
    if len(word) > 4 and word.endswith("ies"):
        return word[:-3] + "y"
    if len(word) > 3 and word.endswith("s") and not word.endswith("ss"):
        return word[:-1]
    return word


def _stems(text: str) -> set[str]:
    return {_stem(word) for word in _WORD.findall(text.casefold())}


def uses_definition(text: str, definition: str) -> bool:
    """Every word of `definition` (but filler) is in `text`, singular or plural."""
    wanted = {_stem(w) for w in _WORD.findall(definition.casefold()) if w not in _FILLER}
    return bool(wanted) and wanted <= _stems(text)


def cites_equation(text: str, label: str) -> bool:
    """`text` cites the equation numbered `label` ("(1)"): as "(1)", "Eq. 1", "Eq. (1)",
    "Equation 1"."""
    number = re.escape(label.strip("() "))
    cited = rf"\(\s*{number}\s*\)|\b(?:eqn?|equation)s?\.?\s*\(?\s*{number}(?!\d|\.\d)"
    return re.search(cited, text, re.I) is not None


def paper_scores(scenario: PaperScenario, text: str) -> Scores:
    definitions = scenario.defined_symbols.values()
    return {
        "paper_symbols_defined": sum(uses_definition(text, d) for d in definitions)
        / len(definitions),
        "equation_cited": (
            float(any(cites_equation(text, label) for label in scenario.equations))
            if scenario.equations
            else None
        ),
    }
