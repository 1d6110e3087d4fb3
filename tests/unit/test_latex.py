"""A LaTeX source as a Document: the title, sections numbered as LaTeX numbers them,
paragraphs as a reader sees them, equations with their LaTeX and their numbers."""

from __future__ import annotations

import gzip
from pathlib import Path

import pytest

from fakearxiv import ATTENTION_MAIN, ATTENTION_MODEL, PPO_TEX, attention_source, tarball
from service.papers.document import Block, BlockKind, Document, Origin, Section
from service.papers.latex import document_from_latex, document_from_source


def _section(document: Document, number: str | None, heading: str | None = None) -> Section:
    for section in document.sections:
        if section.number == number and (heading is None or section.heading == heading):
            return section
    raise AssertionError(f"no section {number} {heading}: {[s.number for s in document.sections]}")


def _equations(document: Document) -> list[Block]:
    return [
        block
        for section in document.sections
        for block in section.blocks
        if block.kind is BlockKind.equation
    ]


def _body(text: str, preamble: str = "") -> str:
    return f"\\documentclass{{article}}\n{preamble}\n\\begin{{document}}\n{text}\n\\end{{document}}"


@pytest.fixture(scope="module")
def attention(tmp_path_factory: pytest.TempPathFactory) -> Document:
    path = tmp_path_factory.mktemp("arxiv") / "1706.03762.tar.gz"
    path.write_bytes(attention_source())
    return document_from_source(path)


def test_the_title_without_its_footnote(attention: Document) -> None:
    assert attention.title == "Attention Is All You Need"
    assert attention.origin is Origin.latex
    assert attention.page_count is None


def test_sections_numbered_as_latex_numbers_them(attention: Document) -> None:
    outline = [(s.number, s.heading, s.level) for s in attention.sections]
    assert outline == [
        (None, "Abstract", 1),
        ("1", "Introduction", 1),
        ("2", "Background", 1),
        ("3", "Model Architecture", 1),  # from sections/model.tex, by \input
        ("3.1", "Encoder and Decoder Stacks", 2),
        ("3.2", "Attention", 2),
        ("3.2.1", "Scaled Dot-Product Attention", 3),
        ("3.2.2", "Multi-Head Attention", 3),
        ("3.3", "Positional Encoding", 2),
        (None, "Acknowledgements", 1),  # \section*: no number, and the count goes on
    ]
    assert all(block.page is None for s in attention.sections for block in s.blocks)


def test_paragraphs_read_as_prose_with_inline_math_kept(attention: Document) -> None:
    (intro,) = _section(attention, "1").blocks
    assert intro.text.startswith("Recurrent neural networks, long short-term memory and gated")
    assert "%" not in intro.text
    assert "comment" not in intro.text
    assert "cite" not in intro.text
    assert "hochreiter" not in intro.text
    assert intro.latex is None  # no inline math: the text says it all
    (background,) = _section(attention, "2").blocks
    assert background.text.endswith("ByteNet and ConvS2S (see Section 3).")  # \ref resolved
    definition = _section(attention, "3.2").blocks[0]
    assert "where $d_k$ is the dimension of the keys" in definition.text
    assert definition.latex is not None
    assert "$d_k$" in definition.latex
    stacks = _section(attention, "3.1").blocks[0]
    assert "$d_{\\text{model}} = 512$" in stacks.text  # the paper's \dmodel, expanded


def test_equations_with_latex_and_the_number_latex_prints(attention: Document) -> None:
    first, multi_head, encoding = _equations(attention)
    assert first.label == "(1)"
    assert first.latex == (
        "\\mathrm{Attention}(Q, K, V) = \\mathrm{softmax}\\left(\\frac{QK^T}{\\sqrt{d_k}}\\right)V"
    )
    assert "softmax" in first.text
    assert "√" in first.text
    assert multi_head.label is None  # \[ … \]: unnumbered
    assert multi_head.latex is not None
    assert multi_head.latex.startswith("\\mathrm{MultiHead}")
    assert encoding.label == "(2)–(3)"  # an align of two numbered rows
    assert encoding.latex is not None
    assert encoding.latex.startswith("\\begin{aligned}PE_{(pos, 2i)}")
    assert "\\label" not in encoding.latex
    assert "\\dmodel" not in encoding.latex
    after = _section(attention, "3.2.1").blocks[2]
    assert after.text.endswith("grow large in magnitude (Equation (1)).")  # \eqref


def test_the_text_before_an_equation_and_after_it_are_blocks_of_their_own(
    attention: Document,
) -> None:
    kinds = [block.kind for block in _section(attention, "3.2.1").blocks]
    assert kinds == [BlockKind.text, BlockKind.equation, BlockKind.text]


def test_a_single_gzipped_tex_file(tmp_path: Path) -> None:
    path = tmp_path / "ppo.tex.gz"
    path.write_bytes(gzip.compress(PPO_TEX.encode()))
    document = document_from_source(path)
    assert document.title == "Proximal Policy Optimization Algorithms"
    assert [s.number for s in document.sections] == ["1", "1.1"]
    (equation,) = _equations(document)
    assert equation.label == "(1)"
    assert equation.latex is not None
    assert "\\nabla_\\theta" in equation.latex


def test_an_uncompressed_tar_and_the_main_file_found_among_others(tmp_path: Path) -> None:
    files = {
        "template/sample.tex": "\\documentclass{article}\\begin{document}Sample\\end{document}",
        "ms.tex": ATTENTION_MAIN,
        "sections/model.tex": ATTENTION_MODEL,
        "figures/plot.pdf": b"%PDF-1.4 not text",
    }
    path = tmp_path / "source.tar.gz"
    path.write_bytes(tarball(files, compressed=False))
    assert document_from_source(path).title == "Attention Is All You Need"


@pytest.mark.parametrize(
    ("environment", "rows", "labels"),
    [
        ("equation", "a = b", ["(1)"]),
        ("equation*", "a = b", [None]),
        ("align", "a &= b \\\\ c &= d \\nonumber \\\\ e &= f", ["(1)–(2)"]),
        ("align", "a &= b \\nonumber \\\\ c &= d", ["(1)"]),
        ("align*", "a &= b \\\\ c &= d", [None]),
        ("gather", "a = b \\\\ c = d", ["(1)–(2)"]),
        ("multline", "a + b \\\\ + c = d", ["(1)"]),  # one number, however many lines
        ("equation", "a = b \\tag{$\\star$}", ["($\\star$)"]),
        ("equation", "a = \\begin{cases} 1 \\\\ 2 \\end{cases}", ["(1)"]),
    ],
)
def test_equation_numbers(environment: str, rows: str, labels: list[str | None]) -> None:
    document = document_from_latex(
        _body(f"\\section{{S}}\n\\begin{{{environment}}}\n{rows}\n\\end{{{environment}}}")
    )
    assert [block.label for block in _equations(document)] == labels


def test_numbers_go_on_across_environments_and_dollars_are_unnumbered() -> None:
    body = (
        "\\begin{equation} x \\end{equation}\n$$ y $$\n"
        "\\begin{align} a \\\\ b \\end{align}\n\\begin{equation} z \\label{eq:z}\\end{equation}\n"
        "See~\\eqref{eq:z}."
    )
    document = document_from_latex(_body(body))
    assert [block.label for block in _equations(document)] == ["(1)", None, "(2)–(3)", "(4)"]
    assert document.sections[-1].blocks[-1].text == "See (4)."


def test_equations_numbered_within_sections_and_appendix_letters() -> None:
    body = (
        "\\section{One}\\begin{equation}a\\end{equation}\\begin{equation}b\\end{equation}"
        "\\section{Two}\\begin{equation}c\\end{equation}"
        "\\appendix\\section{Proofs}\\subsection{Lemma}\\begin{equation}d\\end{equation}"
    )
    document = document_from_latex(_body(body, "\\numberwithin{equation}{section}"))
    assert [block.label for block in _equations(document)] == ["(1.1)", "(1.2)", "(2.1)", "(A.1)"]
    assert [s.number for s in document.sections] == ["1", "2", "A", "A.1"]


def test_subsection_numbers_restart_under_each_section() -> None:
    body = "\\section{A}\\subsection{a}\\subsection{b}\\subsubsection{i}\\section{B}\\subsection{c}"
    document = document_from_latex(_body(body))
    headings = [(s.number, s.heading) for s in document.sections]
    assert headings == [
        ("1", "A"),
        ("1.1", "a"),
        ("1.2", "b"),
        ("1.2.1", "i"),
        ("2", "B"),
        ("2.1", "c"),
    ]


def test_paragraphs_split_on_blank_lines_and_par() -> None:
    document = document_from_latex(_body("\\section{S}\nOne.\n\n\nTwo \\par Three.\nStill three."))
    assert [block.text for block in document.sections[0].blocks] == [
        "One.",
        "Two",
        "Three. Still three.",
    ]


def test_markup_becomes_text() -> None:
    document = document_from_latex(
        _body(
            "``Quoted'' \\emph{words}, caf\\'e, 50\\% and \\textbf{bold} via \\url{https://x.org}."
        )
    )
    (block,) = document.sections[0].blocks
    assert block.text == "“Quoted” words, café, 50% and bold via <https://x.org>."


def test_figures_tables_and_the_bibliography_are_left_out_but_counted() -> None:
    body = (
        "\\section{S}\\begin{figure}\\centering\\caption{A plot}\\label{fig:plot}\\end{figure}"
        "\\begin{table}\\caption{T}\\end{table}\\begin{figure*}\\label{fig:two}\\end{figure*}"
        "See Figure~\\ref{fig:plot} and~\\ref{fig:two}.\n"
        "\\begin{thebibliography}{9}\\bibitem{x} A book.\\end{thebibliography}"
    )
    document = document_from_latex(_body(body))
    assert [block.text for block in document.sections[0].blocks] == ["See Figure 1 and 2."]


def test_macros_with_arguments_and_math_operators() -> None:
    preamble = (
        "\\newcommand{\\norm}[1]{\\lVert #1 \\rVert}\n"
        "\\newcommand{\\E}[2][x]{\\mathbb{E}_{#1}[#2]}\n"
        "\\def\\R{\\mathbb{R}}\n\\DeclareMathOperator*{\\argmax}{arg\\,max}"
    )
    body = "We take $\\norm{v}$, $\\E{f}$, $\\E[y]{g}$ and $\\argmax_x f$ in $\\R^n$."
    (block,) = document_from_latex(_body(body, preamble)).sections[0].blocks
    assert block.text == (
        "We take $\\lVert v \\rVert$, $\\mathbb{E}_{x}[f]$, $\\mathbb{E}_{y}[g]$ and "
        "$\\operatorname*{arg\\,max}_x f$ in $\\mathbb{R}^n$."
    )


def test_a_paper_without_title_or_document_environment_still_reads() -> None:
    document = document_from_latex("\\section{Only}Text.")
    assert document.title == ""
    assert [(s.number, s.heading) for s in document.sections] == [("1", "Only")]
