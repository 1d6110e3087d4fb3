"""Note fields for Anki: Tutor's Markdown as HTML, with every cloze deletion kept whole.

Anki reads `{{c1::answer::hint}}` by its own rules (rslib's cloze.rs): a deletion ends at
the first `}}` after it opens, and the first `::` in its text starts the hint. Tutor reads
deletions by counting braces (`service.cards.cloze`), because its answers are LaTeX where
`}}` is common. For Anki to see the deletions Tutor sees, the field must say them so that
both readings agree:

- inside a deletion, a `}}` that is not its end becomes `} }`, and an answer that ends in
  `}` gets a space before the closing `}}` (in LaTeX a space between braces changes
  nothing; this is what Anki's manual advises for "cloze deletions inside MathJax");
- inside an answer, a `::` that is not the hint's start becomes `: :`, and an answer
  that ends in `:` gets a space before the hint's `::`;
- text that Anki would open as a deletion but Tutor does not (`{{c1::` with no end)
  becomes `{ {c1::`, so it cannot swallow the rest of the field.

Math must not split a deletion's own braces, which it would if the markup went through
the renderer (it spaces every `}}` in a formula). So each `{{cN::`, `::` and `}}` of a
deletion is swapped for a marker, the text rendered, and the markup put back. A marker
is a private-use code point (which Markdown, the math renderer and the HTML cleaner all
keep as it is) between colons (so Markdown's emphasis rules see punctuation there, as
they would around the real markup). If a marker does not come through in order (a
deletion inside a link's address, say) or lands inside a tag, the field is rendered as
it is instead.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from service.cards import cloze
from service.rendering import render_markdown

__all__ = ["anki_field"]

_MARKER_START = "\ue000"
_MARKER_END = "\ue001"
_DIGIT_ZERO = 0xE010  # private-use stand-ins for 0–9, so no marker holds a real digit
_MARKER = re.compile(":\ue000([\ue010-\ue019]+)\ue001:")
_MARKER_CHARACTERS = re.compile("[\ue000-\ue01f]")
_MARKER_IN_TAG = re.compile("<[^>]*\ue000")

_OPENING = re.compile(r"\{\{c\d+::")
# What Anki would read as a deletion's start (rslib's tokenizer allows "c1,2").
_ANKI_OPENING = re.compile(r"\{(?=\{c[\d,]+::)")
_DOUBLE_CLOSE = re.compile(r"\}(?=\})")
_DOUBLE_COLON = re.compile(r":(?=:)")
_GUARDED_END = {"close": "}", "hint": ":"}
_DEPTH_CHANGE = {"open": 1, "close": -1}


@dataclass(frozen=True, slots=True)
class _Markup:
    """One piece of a deletion's markup: `{{cN::`, the hint's `::`, or the closing `}}`."""

    role: str  # "open", "hint" or "close"
    text: str


def anki_field(markdown: str) -> str:
    """`markdown` as Anki field HTML: math for MathJax, deletions as Anki reads them."""
    if not cloze.count_deletions(markdown) or _MARKER_CHARACTERS.search(markdown):
        return _rendered(markdown)
    marked, markup = _marked(markdown)
    html = _rendered(marked)
    pieces = _MARKER.split(html)
    found = [_number(code) for code in pieces[1::2]]
    # Markup in an attribute (a link's title) would put Anki's spans inside a tag.
    if found != list(range(len(markup))) or _MARKER_IN_TAG.search(html):
        return _rendered(markdown)
    return _joined(pieces[0::2], markup)


def _rendered(markdown: str) -> str:
    return render_markdown(markdown, math="anki").strip()


def _marked(text: str) -> tuple[str, list[_Markup]]:
    """`text` with each deletion's markup swapped for markers, and the markup in order."""
    spans = sorted(_markup_spans(text, 0))
    markup: list[_Markup] = []
    pieces: list[str] = []
    position = 0
    for start, end, role in spans:
        pieces += [text[position:start], _marker(len(markup))]
        markup.append(_Markup(role, text[start:end]))
        position = end
    pieces.append(text[position:])
    return "".join(pieces), markup


def _markup_spans(text: str, offset: int) -> list[tuple[int, int, str]]:
    """(start, end, role) of every deletion's markup in `text`, nested ones included."""
    spans: list[tuple[int, int, str]] = []
    for deletion in cloze.deletions(text):
        opening = _OPENING.match(text, deletion.start)
        assert opening is not None, "a deletion starts with its opening"
        answer_start = opening.end()
        answer_end = answer_start + len(deletion.answer)
        close = deletion.end - len("}}")
        spans.append((offset + deletion.start, offset + answer_start, "open"))
        if answer_end < close:  # `::hint` follows the answer
            spans.append((offset + answer_end, offset + answer_end + len("::"), "hint"))
        spans.append((offset + close, offset + deletion.end, "close"))
        spans += _markup_spans(deletion.answer, offset + answer_start)
    return spans


def _marker(index: int) -> str:
    digits = "".join(chr(_DIGIT_ZERO + int(digit)) for digit in str(index))
    return f":{_MARKER_START}{digits}{_MARKER_END}:"


def _number(code: str) -> int:
    return int("".join(str(ord(character) - _DIGIT_ZERO) for character in code))


def _joined(texts: list[str], markup: list[_Markup]) -> str:
    """The rendered texts with the markup between them, made unambiguous for Anki."""
    before = _outside_deletion(texts[0])
    out = [before]
    depth = 0
    for piece, text in zip(markup, texts[1:], strict=True):
        # "}" + "}}" would close the deletion a brace early, ":" + "::" start the hint
        # a colon early: a space keeps the answer's own brace or colon in it.
        guard = _GUARDED_END.get(piece.role)
        if guard and before.endswith(guard):
            out.append(" ")
        out.append(piece.text)
        depth += _DEPTH_CHANGE.get(piece.role, 0)
        if depth == 0:
            before = _outside_deletion(text)
        else:
            # Deletions nest only in answers, so after an inner one's end comes answer.
            before = _inside_deletion(text, answer=piece.role != "hint")
        out.append(before)
    return "".join(out)


def _outside_deletion(text: str) -> str:
    return _ANKI_OPENING.sub("{ ", text)


def _inside_deletion(text: str, *, answer: bool) -> str:
    text = _DOUBLE_CLOSE.sub("} ", _ANKI_OPENING.sub("{ ", text))
    # Only the answer's first "::" would start a hint; in a hint Anki keeps them all.
    return _DOUBLE_COLON.sub(": ", text) if answer else text
