"""A passage's paper context (service/papers/context.py): which symbols a passage uses,
in a PDF's plain text, a LaTeX source's `$…$` math and an equation's LaTeX alike; only
those defined before it; and the cap that drops symbols but keeps the place."""

from __future__ import annotations

import pytest

from service.llm.tokens import count_text
from service.papers.context import (
    DefinedSymbol,
    PassagePlace,
    context_cap,
    paper_context,
    symbols_for,
    symbols_in_math,
    symbols_used,
)
from service.papers.document import Block, BlockKind

ATTENTION = r"\mathrm{Attention}(Q, K, V) = \mathrm{softmax}\left(\frac{QK^T}{\sqrt{d_k}}\right)V"
PLACE = PassagePlace(
    paper_title="Attention Is All You Need",
    section_number="3.2.1",
    section_heading="Scaled Dot-Product Attention",
    first_page=4,
    last_page=4,
)


@pytest.mark.parametrize(
    "written",
    [
        "divide each by $\\sqrt{d_k}$",  # a LaTeX source's inline math
        "divide each by $\\sqrt{d_{k}}$",
        "divide each by $\\sqrt{d _ k}$",
        "keys of dimension d_k, and values",  # a PDF's text, as pdf.py writes a subscript
        "keys of dimension d_{k}.",
    ],
)
def test_d_k_is_found_however_it_is_written(written: str) -> None:
    assert "d_k" in symbols_used(prose=[written])


@pytest.mark.parametrize(
    "written",
    [
        "the policy π_θ(a|s) and the advantage Â_t",  # a PDF's Unicode
        "the policy $\\pi_\\theta(a|s)$ and the advantage $\\hat{A}_t$",
        "the policy $\\pi_{\\theta}$ and the advantage $\\hat A_t$",
    ],
)
def test_greek_and_accents_match_their_latex_names(written: str) -> None:
    assert {"\\pi_\\theta", "\\hat{A}_t"} <= symbols_used(prose=[written])


@pytest.mark.parametrize(
    "prose",
    [
        "the dk feedback loop",  # a word, or a PDF that lost the subscript: not d_k
        "it's the softmax, e.g. the output",  # no `s`, no `t`, no `e` or `g`
        "a model I trained",
    ],
)
def test_words_are_not_symbols(prose: str) -> None:
    assert symbols_used(prose=[prose]) & {"d_k", "d", "k", "s", "t", "e", "g", "a", "I"} == set()


def test_an_equations_latex_names_its_symbols_and_not_its_words() -> None:
    used = symbols_in_math(ATTENTION)
    assert {"Q", "K", "V", "d_k"} <= used  # `QK^T` is Q times K transposed: K is used
    assert not {"d", "k", "t", "x"} & used
    # Three letters or more are a word (`pos`), two are symbols; scripts are read too.
    encoding = r"PE_{(pos, 2i)} = \sin(pos / 10000^{2i/d_{\text{model}}})"
    used = symbols_in_math(encoding)
    assert "i" in used
    assert not {"p", "o", "s"} & used


def test_only_symbols_defined_before_the_passage_and_used_by_it() -> None:
    defined = [
        DefinedSymbol("d_k", "the dimension of the keys", 5, "3.2", "Attention"),
        DefinedSymbol("d_v", "the dimension of the values", 5, "3.2", "Attention"),
        DefinedSymbol("h", "the number of heads", 9, "3.2.2", "Multi-Head Attention"),
        DefinedSymbol("Q", "the queries", 7, "3.2.1", "Scaled Dot-Product Attention"),
    ]
    used = symbols_used(prose=["divide by $\\sqrt{d_k}$ for each of the $h$ heads"])
    used |= symbols_in_math(ATTENTION)
    # d_v is not used; h is defined after the passage; Q in the passage's own block.
    assert [s.symbol for s in symbols_for(defined, first_block=7, used=used)] == ["d_k"]


def test_the_context_names_the_place_the_equations_and_the_symbols() -> None:
    blocks = [
        Block(BlockKind.text, "We compute the dot products", page=4),
        Block(BlockKind.equation, "Attention(Q, K, V)", page=4, latex=ATTENTION, label="(1)"),
    ]
    defined = [DefinedSymbol("d_k", "the dimension of the keys", 5, "3.2", "Attention")]

    text, tokens = paper_context(PLACE, blocks, defined, cap=300, count=count_text)

    assert text.splitlines() == [
        "Paper: Attention Is All You Need",
        "Section: §3.2.1 Scaled Dot-Product Attention",
        "Page: 4",
        "Equations in the passage: (1)",
        "Symbols the passage uses, as the paper defined them earlier:",
        "- d_k: the dimension of the keys (§3.2)",
    ]
    assert tokens == count_text(text)


def test_the_cap_drops_the_last_symbols_but_keeps_the_place() -> None:
    defined = [
        DefinedSymbol(
            f"x_{n}", f"the {n}th input of a rather long list of inputs", n, None, "Intro"
        )
        for n in range(40)
    ]
    place_only, place_tokens = paper_context(PLACE, [], [], cap=300, count=count_text)

    text, tokens = paper_context(PLACE, [], defined, cap=120, count=count_text)

    assert text.startswith(place_only)
    kept = [line for line in text.splitlines() if line.startswith("- ")]
    assert 0 < len(kept) < 40
    assert kept[0] == "- x_0: the 0th input of a rather long list of inputs (in Intro)"
    assert tokens <= 120
    # A cap below the place alone still gives the place: it is what the passage is.
    assert paper_context(PLACE, [], defined, cap=5, count=count_text) == (place_only, place_tokens)


def test_the_cap_is_300_tokens_or_a_quarter_of_the_passage_budget() -> None:
    assert context_cap(6000) == 300
    assert context_cap(800) == 200
