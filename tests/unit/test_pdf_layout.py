"""Lines of a PDF made into a Document (service/papers/pdf_layout.py): headings by their
numbers and fonts, paragraphs by gaps and indents, equations by their numbers, the title,
page numbers left out."""

from __future__ import annotations

import pytest

from service.papers.document import Block, BlockKind, Origin, Section
from service.papers.pdf_layout import Line, build_document

BODY = 10.0


def body(text: str, y: float, *, page: int = 1, x: float = 72.0) -> Line:
    return Line(text, page, x, y, BODY, bold=False)


def heading(text: str, y: float, *, page: int = 1, size: float = 12.0, bold: bool = True) -> Line:
    return Line(text, page, 72.0, y, size, bold)


def outline(sections: tuple[Section, ...]) -> list[tuple[str | None, str, int, int | None]]:
    return [(s.number, s.heading, s.level, s.page) for s in sections]


def test_numbered_bold_headings_make_sections_at_their_depth() -> None:
    lines = [
        heading("1 Introduction", 700),
        body("Sequence models are everywhere.", 680),
        heading("3.2 Attention", 650, size=BODY),
        body("An attention function maps a query.", 630),
        heading("3.2.1 Scaled Dot-Product Attention", 600, size=BODY),
        body("We call it scaled.", 580),
        heading("A.1 Proofs", 550),
        body("The proof is short.", 530),
    ]

    document = build_document(lines, page_count=1, title=None)

    assert outline(document.sections) == [
        ("1", "Introduction", 1, 1),
        ("3.2", "Attention", 2, 1),
        ("3.2.1", "Scaled Dot-Product Attention", 3, 1),
        ("A.1", "Proofs", 2, 1),
    ]
    assert [len(s.blocks) for s in document.sections] == [1, 1, 1, 1]
    assert (document.origin, document.page_count) == (Origin.pdf, 1)


@pytest.mark.parametrize(
    "line",
    [
        # A numbered line in the body's size and weight, running on from the text above.
        body("2 The model has layers that", 688),
        # A sentence, however numbered and bold.
        heading("2 We propose a model.", 688),
        # Mathematics, not a title.
        heading("2 x = y + z", 688),
        # A title that does not start as one.
        heading("2 the model", 688),
        # Too long for a heading.
        heading("2 " + " ".join(["Word"] * 15), 688),
    ],
)
def test_what_only_looks_like_a_heading_stays_text(line: Line) -> None:
    lines = [heading("1 Introduction", 712), body("Some text before it.", 700), line]

    document = build_document(lines, page_count=1, title=None)

    assert outline(document.sections) == [("1", "Introduction", 1, 1)]


def test_a_numbered_line_standing_apart_is_a_heading_even_in_the_body_font() -> None:
    lines = [
        body("The text of the introduction ends here.", 700),
        body("2 Background", 670),  # more than a line's gap above it
        body("Recurrent models came first.", 658),
    ]

    document = build_document(lines, page_count=1, title=None)

    assert outline(document.sections)[-1] == ("2", "Background", 1, 1)


def test_known_unnumbered_headings_are_sections_of_the_first_level() -> None:
    lines = [
        heading("Abstract", 700),
        body("We propose the Transformer.", 680),
        heading("REFERENCES", 650, size=BODY, bold=False),
        body("[1] Ba et al. Layer normalization.", 630),
    ]

    document = build_document(lines, page_count=1, title=None)

    assert outline(document.sections) == [(None, "Abstract", 1, 1), (None, "REFERENCES", 1, 1)]


def test_paragraphs_end_at_a_wide_gap_an_indent_or_a_change_of_size() -> None:
    lines = [
        heading("1 Introduction", 720),
        body("First paragraph, first line,", 700),
        body("and its second line.", 688),
        body("After a wide gap: a second paragraph.", 664),
        body("An indented line starts the third.", 652, x=87),
        body("Its second line is at the margin.", 640),
        Line("A footnote in a smaller size.", 1, 72, 628, 8.0, bold=False),
    ]

    document = build_document(lines, page_count=1, title=None)

    assert [b.text for b in document.sections[0].blocks] == [
        "First paragraph, first line, and its second line.",
        "After a wide gap: a second paragraph.",
        "An indented line starts the third. Its second line is at the margin.",
        "A footnote in a smaller size.",
    ]


def test_a_word_broken_at_a_line_end_is_joined_and_a_hyphenated_name_kept() -> None:
    lines = [
        body("The dominant sequence trans-", 700),
        body("duction models use encoder-", 688),
        body("Decoder stacks.", 676),
    ]

    document = build_document(lines, page_count=1, title=None)

    [block] = document.sections[0].blocks
    assert block.text == "The dominant sequence transduction models use encoder- Decoder stacks."


def test_a_paragraph_goes_on_over_a_page_when_its_sentence_does() -> None:
    lines = [
        body("The sentence runs on to", 100, page=1),
        body("the next page.", 700, page=2),
        body("A new paragraph starts here.", 688, page=2),
        body("It starts on the third page.", 700, page=3),
    ]

    document = build_document(lines, page_count=3, title=None)

    assert [(b.text, b.page) for b in document.sections[0].blocks] == [
        ("The sentence runs on to the next page. A new paragraph starts here.", 1),
        ("It starts on the third page.", 3),
    ]


def test_a_numbered_line_of_mathematics_is_an_equation_with_its_label() -> None:
    lines = [
        body("We compute", 700),
        body("Attention(Q, K, V) = softmax(QK^T / sqrt(d_k)) V (1)", 680, x=180),
        body("where the scale keeps the softmax soft.", 660),
        body("A citation at a line's end is no equation (3)", 648),
    ]

    document = build_document(lines, page_count=1, title=None)

    assert document.sections[0].blocks[1] == Block(
        BlockKind.equation, "Attention(Q, K, V) = softmax(QK^T / sqrt(d_k)) V", page=1, label="(1)"
    )
    assert [b.kind for b in document.sections[0].blocks] == [
        BlockKind.text,
        BlockKind.equation,
        BlockKind.text,
    ]


def test_the_title_is_the_pdfs_own_when_it_has_a_real_one() -> None:
    lines = [Line("A Larger Line", 1, 72, 740, 17, True), body("Text of the paper.", 700)]

    named = build_document(lines, page_count=1, title="  Attention Is All You Need ")
    anonymous = build_document(lines, page_count=1, title="(anonymous)")
    a_file_name = build_document(lines, page_count=1, title="paper-final-v2.dvi")

    assert named.title == "Attention Is All You Need"
    assert anonymous.title == a_file_name.title == "A Larger Line"


def test_the_largest_lines_at_the_top_of_the_first_page_are_the_title() -> None:
    lines = [
        Line("Attention Is All", 1, 150, 740, 17, True),
        Line("You Need", 1, 200, 720, 17, True),
        body("Ashish Vaswani", 690),
        heading("1 Introduction", 660),
        body("The text of the introduction, longer than the title and the authors.", 640),
    ]

    document = build_document(lines, page_count=1, title=None)

    assert document.title == "Attention Is All You Need"
    front, introduction = document.sections
    assert (front.heading, front.number, [b.text for b in front.blocks]) == (
        "Attention Is All You Need",
        None,
        ["Ashish Vaswani"],
    )
    assert introduction.heading == "Introduction"


def test_a_paper_of_one_size_throughout_has_no_title_line_and_is_untitled() -> None:
    document = build_document([body("Just text.", 700)], page_count=1, title=None)

    assert document.title == "Untitled"
    assert [b.text for b in document.sections[0].blocks] == ["Just text."]


def test_page_numbers_at_the_top_or_bottom_of_a_page_are_left_out() -> None:
    lines = [
        body("7", 760),
        body("Text that mentions 2019 stays.", 700),
        body("2019", 690),
        body("Page 8 of 12", 40),
    ]

    document = build_document(lines, page_count=1, title=None)

    assert [b.text for b in document.sections[0].blocks] == ["Text that mentions 2019 stays. 2019"]


def test_no_lines_make_a_document_without_sections() -> None:
    document = build_document([], page_count=3, title=None)

    assert (document.title, document.sections, document.page_count) == ("Untitled", (), 3)
