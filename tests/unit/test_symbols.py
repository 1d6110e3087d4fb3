"""The symbol table: what a paper's sentences define, keyed the one way passages are
matched on. The sentences are the papers' own (Attention, PPO, DPO, RoPE), as their
LaTeX writes them and as a PDF's text layer gives them."""

from __future__ import annotations

import pytest

from service.papers.document import Block, BlockKind, Document, Origin, Section, Symbol
from service.papers.symbol_names import symbol_key
from service.papers.symbols import definitions_in, find_symbols

ATTENTION_DK = (
    "The queries and keys have dimension $d_k$, where $d_k$ is the dimension of the keys, "
    "and the values have dimension $d_v$."
)


@pytest.mark.parametrize(
    ("sentence", "expected"),
    [
        (ATTENTION_DK, [("d_k", "the dimension of the keys")]),
        (
            "where $Q$, $K$ and $V$ are the queries, keys and values.",
            [("Q", "the queries"), ("K", "keys"), ("V", "values")],
        ),
        (
            # PPO, eq. (2)
            "where $\\pi_\\theta$ is a stochastic policy and $\\hat{A}_t$ is an estimator of "
            "the advantage function at timestep $t$. Here, the expectation indicates the average.",
            [
                ("\\pi_\\theta", "a stochastic policy"),
                ("\\hat{A}_t", "an estimator of the advantage function at timestep $t$"),
            ],
        ),
        (
            # PPO, section 3: the definition ends where the formula restating it starts.
            "Let $r_t(\\theta)$ denote the probability ratio $r_t(\\theta) = "
            "\\frac{\\pi_\\theta(a_t \\mid s_t)}{\\pi_{\\theta_{\\text{old}}}(a_t \\mid s_t)}$, "
            "so $r(\\theta_{\\text{old}}) = 1$.",
            [("r_t", "the probability ratio")],
        ),
        (
            # PPO, eq. (9): a chain of clauses, and two symbols sharing one definition.
            "where $c_1, c_2$ are coefficients, and $S$ denotes an entropy bonus, and "
            "$L_t^{VF}$ is a squared-error loss $(V_\\theta(s_t) - V_t^{\\text{targ}})^2$.",
            [
                ("c_1", "coefficients"),
                ("c_2", "coefficients"),
                ("S", "an entropy bonus"),
                ("L_t^{VF}", "a squared-error loss"),
            ],
        ),
        (
            # DPO, eq. (1) and (3)
            "where $\\sigma$ is the logistic function, $\\beta$ is a parameter controlling "
            "the deviation from the base reference policy $\\pi_{\\text{ref}}$, namely the "
            "initial SFT model $\\pi^{\\text{SFT}}$.",
            [
                ("\\sigma", "the logistic function"),
                (
                    "\\beta",
                    "a parameter controlling the deviation from the base reference policy "
                    "$\\pi_{\\text{ref}}$",
                ),
                ("\\pi_{\\text{ref}}", "the base reference policy"),
            ],
        ),
        (
            # DPO, eq. (4): "$Z(x) = …$ is" names Z.
            "where $Z(x) = \\sum_y \\pi_{\\text{ref}}(y|x) \\exp(\\frac{1}{\\beta} r(x, y))$ "
            "is the partition function.",
            [("Z", "the partition function")],
        ),
        (
            # RoPE, section 3.1
            "Let $\\mathbb{S}_N = \\{w_i\\}_{i=1}^N$ be a sequence of $N$ input tokens with "
            "$w_i$ being the $i^{th}$ element.",
            [
                (
                    "\\mathbb{S}_N",
                    "a sequence of $N$ input tokens with $w_i$ being the $i^{th}$ element",
                )
            ],
        ),
        (
            # RoPE, eq. (13)
            "where $\\boldsymbol{R}^d_{\\Theta,m}$ is the rotary matrix with pre-defined "
            "parameters $\\Theta$.",
            [
                (
                    "\\boldsymbol{R}^d_{\\Theta,m}",
                    "the rotary matrix with pre-defined parameters $\\Theta$",
                )
            ],
        ),
        (
            "In this work we employ $h = 8$ parallel attention layers; where $h = 8$ is the "
            "number of heads.",
            [("h", "the number of heads")],
        ),
        (
            "We denote the reward model by $r_\\phi$. We denote by $\\mathcal{D}$ the dataset "
            "of comparisons.",
            [("r_\\phi", "the reward model"), ("\\mathcal{D}", "the dataset of comparisons")],
        ),
        (
            "The policy, denoted $\\pi$, is trained with PPO. $x$ denotes a prompt.",
            [("x", "a prompt"), ("\\pi", "The policy")],
        ),
        (
            "The reference policy $\\pi_{\\text{ref}}$ is kept fixed.",
            [("\\pi_{\\text{ref}}", "The reference policy")],
        ),
    ],
)
def test_latex_sentences(sentence: str, expected: list[tuple[str, str]]) -> None:
    assert sorted(definitions_in(sentence)) == sorted(expected)


@pytest.mark.parametrize(
    "sentence",
    [
        "For large values of $d_k$, the dot products grow large in magnitude.",
        "We use the same $d_k$ for all heads.",
        "The projections are parameter matrices $W_i^Q \\in \\mathbb{R}^{d \\times d_k}$.",
        "where epsilon is a hyperparameter, say, $\\epsilon = 0.2$.",  # a word, not math
        "where it is the case that $x$ grows.",
        "where $\\sum_i x_i$ is the total.",  # a formula, not a symbol
        "where $0.1$ is the dropout rate.",
        "where a is the learning rate.",  # the article, in a PDF's text
    ],
)
def test_sentences_that_define_nothing(sentence: str) -> None:
    assert definitions_in(sentence) == []


@pytest.mark.parametrize(
    ("sentence", "expected"),
    [
        # A PDF's text layer: scripts as pdf.py writes them, Greek and accents as Unicode.
        (
            "where d_k is the dimension of the keys, and d_v the dimension of the values.",
            [("d_k", "the dimension of the keys"), ("d_v", "the dimension of the values")],
        ),
        (
            "where π_θ is a stochastic policy and Â_t is an estimator of the advantage "
            "function at timestep t.",
            [
                ("\\pi_\\theta", "a stochastic policy"),
                ("\\hat{A}_t", "an estimator of the advantage function at timestep t"),
            ],
        ),
        (
            "where σ is the logistic function, β is a parameter controlling the deviation.",  # noqa: RUF001
            [
                ("\\sigma", "the logistic function"),
                ("\\beta", "a parameter controlling the deviation"),
            ],
        ),
        ("Let W^{O} denote the output projection.", [("W^O", "the output projection")]),
    ],
)
def test_pdf_text(sentence: str, expected: list[tuple[str, str]]) -> None:
    assert sorted(definitions_in(sentence)) == sorted(expected)


@pytest.mark.parametrize(
    ("written", "key"),
    [
        ("d_k", "d_k"),
        ("d_{k}", "d_k"),
        (" d _ {k} ", "d_k"),
        ("{d_k}", "d_k"),
        ("\\ensuremath{d_k}", "d_k"),
        ("\\pi_{\\theta}", "\\pi_\\theta"),
        ("\\pi _\\theta", "\\pi_\\theta"),
        ("π_θ", "\\pi_\\theta"),
        ("\\hat A_t", "\\hat{A}_t"),
        ("Â_t", "\\hat{A}_t"),
        ("\\pi_\\theta(a_t|s_t)", "\\pi_\\theta"),
        ("d_{\\text{model}}", "d_{\\text{model}}"),
        ("x^{2}", "x^2"),
        ("W_i^Q", "W_i^Q"),
        ("\\mathcal{D}", "\\mathcal{D}"),
        ("ℓ", "\\ell"),  # noqa: RUF001
        ("512", None),
        ("QK^T", None),
        ("\\log p", None),
        ("\\sum_i x_i", None),
        ("softmax", None),
        ("", None),
    ],
)
def test_symbol_keys(written: str, key: str | None) -> None:
    assert symbol_key(written) == key


def _paper(*sections: tuple[str, list[str | Block]]) -> Document:
    return Document(
        title="Attention Is All You Need",
        origin=Origin.latex,
        sections=tuple(
            Section(
                heading=heading,
                number=str(number),
                level=1,
                blocks=tuple(
                    block if isinstance(block, Block) else Block(BlockKind.text, block)
                    for block in blocks
                ),
            )
            for number, (heading, blocks) in enumerate(sections, start=1)
        ),
    )


def test_each_symbol_once_where_it_is_first_defined() -> None:
    document = _paper(
        ("Introduction", ["Attention maps a query and keys to an output."]),
        (
            "Attention",
            [
                Block(BlockKind.equation, "d_k is the key size", latex="d_k"),  # not prose
                ATTENTION_DK,
                "where $d_k$ is the key width, and $h$ is the number of heads.",
            ],
        ),
        ("Scaled Dot-Product Attention", ["We divide by $\\sqrt{d_k}$."]),
    )
    assert find_symbols(document) == (
        Symbol("d_k", "the dimension of the keys", section_index=1, block_index=1),
        Symbol("h", "the number of heads", section_index=1, block_index=2),
    )


def test_a_paper_defining_nothing() -> None:
    assert find_symbols(_paper(("Introduction", ["No notation here."]))) == ()
