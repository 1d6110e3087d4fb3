"""format_csv and parse_cards: Tutor's CSV both ways, and Anki's plain-text export in."""

from __future__ import annotations

from datetime import date

import pytest

from service.cards.quality import WRITE_A_DELETION
from service.exchange.csv_io import (
    CsvCard,
    ImportRow,
    NotUtf8,
    ParsedImport,
    RowError,
    format_csv,
    parse_cards,
)


def card(front: str, back: str = "An answer", *, tags: tuple[str, ...] = ()) -> CsvCard:
    return CsvCard(
        front=front,
        back=back,
        kind="basic",
        tags=tags,
        status="active",
        source="Attention Is All You Need",
        due=date(2030, 3, 1),
    )


def parse_text(text: str) -> ParsedImport:
    return parse_cards(text.encode())


# --- export ---------------------------------------------------------------------------


def test_export_writes_the_header_and_one_line_per_card() -> None:
    cloze = CsvCard("RoPE {{c1::rotates}} pairs", "", "cloze", (), "draft", None, None)

    text = format_csv([card("What is $d_k$?", tags=("attention", "rope")), cloze])

    assert text.splitlines() == [
        "front,back,kind,tags,status,source,due",
        "What is $d_k$?,An answer,basic,attention rope,active,Attention Is All You Need,2030-03-01",
        "RoPE {{c1::rotates}} pairs,,cloze,,draft,,",
    ]


def test_export_of_no_cards_is_just_the_header() -> None:
    assert format_csv([]) == "front,back,kind,tags,status,source,due\r\n"


TRICKY_SIDES = [
    ("Commas, everywhere, here", "and, there"),
    ('She said "attention" is all', 'a ""doubled"" quote'),
    ("Line one\nline two\r\nline three", "Back\n\n- a list\n- item"),
    ("Unicode: Σ, θ, 注意力, emoji 🧠", "naïve café — “quoted”"),
    (r"Why $\frac{QK^T}{\sqrt{d_k}}$?", "$$\n\\sum_{i=1}^{n} x_i\n$$"),
    ("Tab\tinside", "'single', `code`, \\backslash"),
    ("=SUM(A1:A2)", "#not a header: really"),
]


@pytest.mark.parametrize(("front", "back"), TRICKY_SIDES)
def test_round_trip_keeps_every_character(front: str, back: str) -> None:
    parsed = parse_text(format_csv([card(front, back, tags=("a", "b::c"))]))

    assert parsed.errors == []
    [row] = parsed.rows
    assert (row.front, row.back, row.tags) == (front, back, ("a", "b::c"))


def test_round_trip_of_many_cards_keeps_order_and_line_numbers() -> None:
    cards = [card(front, back) for front, back in TRICKY_SIDES]

    parsed = parse_text(format_csv(cards))

    assert [row.front for row in parsed.rows] == [front for front, _ in TRICKY_SIDES]
    # Line 2 is the first card; each line break inside a field pushes the next ones down.
    assert [row.line for row in parsed.rows] == [2, 3, 4, 10, 11, 14, 15]


def test_exported_cloze_without_a_back_imports_again() -> None:
    cloze = CsvCard("RoPE {{c1::rotates}} pairs", "", "cloze", (), "active", None, None)

    [row] = parse_text(format_csv([cloze])).rows

    assert (row.front, row.back) == ("RoPE {{c1::rotates}} pairs", "")


# --- encoding -------------------------------------------------------------------------


def test_byte_order_mark_is_accepted() -> None:
    parsed = parse_cards("\N{BYTE ORDER MARK}front,back\nQ,A\n".encode())

    assert parsed == ParsedImport(rows=[ImportRow(2, "Q", "A", (), tags_given=False)], errors=[])


@pytest.mark.parametrize(
    "data",
    [
        "front,back\nnaïve,café\n".encode("latin-1"),
        "front,back\nQ,A\n".encode("utf-16"),  # with its byte-order mark
        "front,back\nQ,A\n".encode("utf-16-le"),  # without
        b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR",
    ],
    ids=["latin-1", "utf-16", "utf-16-le", "binary"],
)
def test_not_utf8_is_refused_with_advice(data: bytes) -> None:
    with pytest.raises(NotUtf8, match="not UTF-8") as raised:
        parse_cards(data)

    assert "save it as utf-8" in str(raised.value).lower()
    assert isinstance(raised.value, ValueError)


# --- Tutor's CSV in -------------------------------------------------------------------


@pytest.mark.parametrize(
    "header",
    [
        "front,back,tags",
        "Front,Back,Tags",
        "FRONT,BACK,TAGS",
        " Tags , Back , Front ",
        "due,tags,status,back,kind,front,source",
    ],
)
def test_header_names_columns_in_any_case_and_order(header: str) -> None:
    names = [name.strip().lower() for name in header.split(",")]
    values = {"front": "Q", "back": "A", "tags": "ml rlhf"}
    line = ",".join(values.get(name, "ignored") for name in names)

    parsed = parse_text(f"{header}\n{line}\n")

    assert parsed == ParsedImport(rows=[ImportRow(2, "Q", "A", ("ml", "rlhf"))], errors=[])


def test_tags_column_is_optional_and_split_on_whitespace() -> None:
    parsed = parse_text("front,back\nQ,A\n")
    assert parsed.rows[0].tags == ()

    parsed = parse_text('front,back,tags\nQ,A,"  ppo\trlhf\n dpo  "\n')
    assert parsed.rows[0].tags == ("ppo", "rlhf", "dpo")


@pytest.mark.parametrize(
    "text",
    [
        "question,answer\nQ,A\n",
        "front,answer\nQ,A\n",
        "Q,A\nQ2,A2\n",  # no header at all
    ],
)
def test_header_without_front_and_back_is_one_error_on_line_1(text: str) -> None:
    parsed = parse_text(text)

    assert parsed.rows == []
    [error] = parsed.errors
    assert error.line == 1
    assert "front" in error.message
    assert "back" in error.message


def test_empty_file_is_one_error() -> None:
    assert parse_cards(b"") == ParsedImport(errors=[RowError(1, "The file is empty.")])


def test_bad_rows_are_reported_by_line_and_the_rest_import() -> None:
    text = (
        "front,back,tags\n"  # 1
        "Good one,Fine,ok\n"  # 2
        '"Spans\nthree\nlines",Fine,\n'  # 3-5
        ",No front,\n"  # 6
        "No back,,\n"  # 7
        "Too few,columns\n"  # 8
        "Too,many,columns,here\n"  # 9
        "\n"  # 10, blank: skipped
        f"Too long,{'x' * 20_001},\n"  # 11
        f"Far too long,{'y' * 200_000},\n"  # 12, over the csv module's own limit
        "   ,   ,\n"  # 13, blank cells only: skipped
        "Last,Still imported,end\n"  # 14
    )

    parsed = parse_text(text)

    assert [(row.line, row.front) for row in parsed.rows] == [
        (2, "Good one"),
        (3, "Spans\nthree\nlines"),
        (14, "Last"),
    ]
    assert [error.line for error in parsed.errors] == [6, 7, 8, 9, 11, 12]
    messages = [error.message for error in parsed.errors]
    assert "front is empty" in messages[0]
    assert "back is empty" in messages[1]
    assert messages[2] == "Expected 3 columns, found 2."
    assert messages[3] == "Expected 3 columns, found 4."
    assert messages[4] == messages[5] == "A field is longer than 20,000 characters."


def test_field_of_exactly_the_limit_is_accepted() -> None:
    parsed = parse_text(f"front,back\nQ,{'x' * 20_000}\n")

    assert parsed.errors == []
    assert len(parsed.rows[0].back) == 20_000


def test_crlf_line_endings_count_once() -> None:
    parsed = parse_text('front,back\r\nQ1,A1\r\n"Q2\r\ncontinued",A2\r\nQ3,A3\r\n')

    assert [(row.line, row.front) for row in parsed.rows] == [
        (2, "Q1"),
        (3, "Q2\r\ncontinued"),
        (5, "Q3"),
    ]


@pytest.mark.parametrize("delimiter", ["\t", ";"])
def test_tab_or_semicolon_separated_file_with_a_header_is_read_by_name(delimiter: str) -> None:
    text = f"back{delimiter}front{delimiter}tags\nA, B{delimiter}Q{delimiter}x y\n"

    assert parse_text(text).rows == [ImportRow(2, "Q", "A, B", ("x", "y"))]


def test_huge_first_line_is_a_missing_header() -> None:
    parsed = parse_text("x" * 200_000 + "\nfront,back\n")

    assert parsed.rows == []
    [error] = parsed.errors
    assert error.line == 1
    assert "header" in error.message


# --- Anki's "Notes in Plain Text" -----------------------------------------------------

# As Anki 2.1.55+ writes it with every option ticked: guid, note type and deck columns
# first, then the note's fields (padded to the widest note type), then tags.
ANKI_FULL_EXPORT = (
    "#separator:tab\n"  # 1
    "#html:true\n"  # 2
    "#guid column:1\n"  # 3
    "#notetype column:2\n"  # 4
    "#deck column:3\n"  # 5
    "#tags column:6\n"  # 6
    "C<g<r*y{^Q\tBasic\tML::Attention\tWhat is <b>attention</b>?<br>In one line.\t"
    "Q &amp; K &lt;dot&gt; V<br/>weighted\tattention ml\n"  # 7
    "bY&^lpUR~.\tCloze\tML\tSoftmax of {{c1::\\(\\frac{a}{b}\\)::a ratio}}\t\t\n"  # 8
    'm_prCgWIYQ\tBasic\tML\t"A ""quoted""\ttab"\t"<div>two</div><div>lines</div>"\t\n'  # 9
)


def test_anki_export_keeps_the_guid_and_skips_note_type_and_deck_columns() -> None:
    parsed = parse_text(ANKI_FULL_EXPORT)

    assert parsed.errors == []
    assert parsed.rows == [
        ImportRow(
            7,
            "What is attention?\nIn one line.",
            "Q & K <dot> V\nweighted",
            ("attention", "ml"),
            guid="C<g<r*y{^Q",
        ),
        ImportRow(8, "Softmax of {{c1::$\\frac{a}{b}$::a ratio}}", "", (), guid="bY&^lpUR~."),
        ImportRow(9, 'A "quoted"\ttab', "two\nlines", (), guid="m_prCgWIYQ"),
    ]


def test_anki_guids_are_optional_and_bounded() -> None:
    long_guid = "g" * 65
    text = (
        "#separator:tab\n#guid column:1\n#tags column:4\n"
        " abc \tQ1\tA1\tt\n"  # 4: Anki's GUIDs hold no spaces; surrounding ones go
        "\tQ2\tA2\t\n"  # 5: no GUID, as in a note added to the file by hand
        f"{long_guid}\tQ3\tA3\t\n"  # 6
    )

    parsed = parse_text(text)

    assert [(row.line, row.guid) for row in parsed.rows] == [(4, "abc"), (5, None)]
    assert parsed.errors == [RowError(6, "The GUID is longer than 64 characters.")]


def test_anki_rows_without_a_tags_column_do_not_give_tags() -> None:
    text = "#separator:tab\n#guid column:1\n#tags:from_anki\nabc\tQ\tA\n"

    [row] = parse_text(text).rows

    assert (row.tags, row.tags_given) == (("from_anki",), False)


def test_anki_export_with_tags_in_column_3() -> None:
    text = (
        "#separator:tab\n"
        "#html:true\n"
        "#tags column:3\n"
        "Scaled by&nbsp;\\(\\sqrt{d_k}\\)<br>why?\tVariance &amp; saturation\t"
        "attention paper::vaswani\n"
        "Second<br />card\tBack &lt;b&gt;\t\n"
    )

    parsed = parse_text(text)

    assert parsed.errors == []
    assert parsed.rows == [
        ImportRow(
            4,
            "Scaled by $\\sqrt{d_k}$\nwhy?",
            "Variance & saturation",
            ("attention", "paper::vaswani"),
        ),
        ImportRow(5, "Second\ncard", "Back <b>", ()),
    ]


def test_anki_export_without_html_keeps_markup_as_text() -> None:
    text = "#separator:tab\n#html:false\n#tags column:3\na <b> b &amp;\t\\[ x^2 \\]\tt\n"

    [row] = parse_text(text).rows

    assert (row.front, row.back) == ("a <b> b &amp;", "$$x^2$$")


def test_anki_export_display_math_keeps_latex_line_spacing() -> None:
    text = "#separator:tab\nQ\t\\[a \\\\[2pt] b\\]\n"

    [row] = parse_text(text).rows

    assert row.back == "$$a \\\\[2pt] b$$"


def test_anki_file_tags_are_added_to_every_row() -> None:
    text = "#separator:Comma\n#tags:imported anki\n#tags column:3\nQ,A,mine\nQ2,A2,\n"

    parsed = parse_text(text)

    assert [row.tags for row in parsed.rows] == [("mine", "imported", "anki"), ("imported", "anki")]


def test_anki_rows_with_too_few_columns_or_an_empty_front_are_reported() -> None:
    text = (
        "#separator:tab\n#html:true\n#tags column:3\n"
        "Q1\tA1\tok\n"  # 4
        "Q2 without a back\n"  # 5
        "\tA3\t\n"  # 6
        "Q4\t\t\n"  # 7: not a cloze, so the back is needed
        "Q5\tA5\tt\textra field, ignored\n"  # 8
    )

    parsed = parse_text(text)

    assert [row.line for row in parsed.rows] == [4, 8]
    assert [(error.line, error.message) for error in parsed.errors] == [
        (5, "Expected at least 3 columns, found 1."),
        (6, "The front is empty."),
        (7, "The back is empty (only a cloze card, with {{c1::…}}, may omit it)."),
    ]


@pytest.mark.parametrize(
    ("text", "line"),
    [
        ("#separator:semicolons\nQ;A\n", 1),
        ("# a comment\n#separator:tab\n#html:yes\nQ\tA\n", 3),
        ("#separator:tab\n#html:maybe\nQ\tA\n", 2),
        ("#separator:tab\n#html:true\n#tags column:zero\nQ\tA\t\n", 3),
        ("#separator:tab\n#tags column:0\nQ\tA\t\n", 2),
    ],
)
def test_bad_anki_header_is_one_error_on_its_line(text: str, line: int) -> None:
    parsed = parse_text(text)

    assert parsed.rows == []
    assert [error.line for error in parsed.errors] == [line]


def test_older_anki_export_without_headers_is_detected_by_its_tabs() -> None:
    parsed = parse_text("What is PPO?\tA policy-gradient method, clipped\trl ppo\nQ2\tA2\n")

    assert parsed.rows == [
        ImportRow(1, "What is PPO?", "A policy-gradient method, clipped", ("rl", "ppo")),
        ImportRow(2, "Q2", "A2", (), tags_given=False),  # no tags exported for this one
    ]


def test_leading_hash_lines_without_a_known_key_are_comments_as_in_anki() -> None:
    text = "# vim: noet nowrap\n#separator:tab\n#deck:ML\n#tags column:3\nQ\tA\tml\n"

    assert parse_text(text).rows == [ImportRow(5, "Q", "A", ("ml",))]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("#html:true\nQ,<b>x</b>\tA\n", ImportRow(2, "Q,x", "A", (), tags_given=False)),
        ("#html:true\nQ,A<br>more\n", ImportRow(2, "Q", "A\nmore", (), tags_given=False)),
    ],
    ids=["tab", "comma"],
)
def test_without_a_separator_header_the_first_data_line_decides(
    text: str, expected: ImportRow
) -> None:
    assert parse_text(text).rows == [expected]


# --- cloze cards without a deletion ---------------------------------------------------


@pytest.mark.parametrize(
    "text",
    [
        # Tutor's CSV says cloze, but the front hides nothing.
        "front,back,kind\nRoPE rotates pairs,,cloze\n",
        "front,back,kind\nRoPE rotates pairs,Su et al.,Cloze\n",
        # A deletion's opening without a deletion: c0, no closing braces, nothing hidden.
        "front,back\nRoPE {{c0::rotates}} pairs,\n",
        "front,back\nRoPE {{c0::rotates}} pairs,Su et al.\n",
        "front,back\nRoPE {{c1::rotates pairs,Su et al.\n",
        "front,back\nRoPE {{c1::}} pairs,Su et al.\n",
        # Anki's cloze note type (by its name), with the deletion taken out.
        "#separator:tab\n#notetype column:1\nCloze\tRoPE rotates pairs\tSu et al.\n",
    ],
)
def test_a_cloze_row_without_a_deletion_is_an_error(text: str) -> None:
    parsed = parse_text(text)

    assert parsed.rows == []
    [error] = parsed.errors
    assert error.message == WRITE_A_DELETION
    assert "{{c1::answer}}" in error.message


@pytest.mark.parametrize(
    "text",
    [
        "front,back,kind\nWhat does RoPE rotate?,Query/key pairs,basic\n",
        "front,back,kind\nRoPE {{c1::rotates}} pairs,,basic\n",  # the text decides: cloze
        "#separator:tab\n#notetype column:1\nBasic\tRoPE {{c2::rotates}} pairs\t\n",
        "#separator:tab\n#notetype column:1\nTutor Cloze\tRoPE {{c1::rotates}} pairs\t\n",
    ],
)
def test_rows_with_a_deletion_or_without_a_cloze_kind_import(text: str) -> None:
    parsed = parse_text(text)

    assert parsed.errors == []
    assert len(parsed.rows) == 1
