"""PDFs for the papers tests, made here: a realistic mini paper with reportlab, and
scanned, encrypted and hostile ones (raw PDF bytes, written object by object).

`attention_pdf` is set the way pdfTeX sets a paper: a large title, numbered bold
headings, justified-looking body lines, subscripts placed below the baseline in a
smaller size, a centred equation numbered "(1)", and a sentence defining d_k on the
first page before a passage on the second that uses it.
"""

from __future__ import annotations

import io
import re
import zlib
from functools import cache

from reportlab.lib.pagesizes import letter
from reportlab.lib.pdfencrypt import StandardEncryption
from reportlab.lib.utils import ImageReader
from reportlab.pdfgen import canvas

TITLE = "Attention Is All You Need"
_WIDTH, _HEIGHT = letter
_LEFT, _RIGHT, _TOP, _BOTTOM = 72.0, _WIDTH - 72.0, _HEIGHT - 72.0, 72.0
_BODY, _LEADING = "Times-Roman", 12.0
# Inline subscripts in body text: "d_{k}" is set as d, then a smaller k below the line.
_SCRIPT = re.compile(r"_\{([^}]*)\}")


class _Typesetter:
    """Just enough of a typesetter: lines that wrap, headings, an equation, page breaks."""

    def __init__(self, *, encrypt: StandardEncryption | None = None) -> None:
        self.out = io.BytesIO()
        self.canvas = canvas.Canvas(self.out, pagesize=letter, encrypt=encrypt)
        self.y = _TOP
        self.page = 1

    def title(self, text: str) -> None:
        self.canvas.setFont("Times-Bold", 17)
        self.canvas.drawCentredString(_WIDTH / 2, self.y, text)
        self.y -= 30

    def centred(self, text: str, size: float = 10) -> None:
        self.canvas.setFont(_BODY, size)
        self.canvas.drawCentredString(_WIDTH / 2, self.y, text)
        self.y -= size + 4

    def heading(self, text: str, size: float = 12) -> None:
        self._room(3 * _LEADING)
        self.y -= 8
        self.canvas.setFont("Times-Bold", size)
        self.canvas.drawString(_LEFT, self.y, text)
        self.y -= size + 6

    def paragraph(self, text: str) -> None:
        """Wrapped to the column; the first line indented, as TeX does."""
        words = text.split()
        line: list[str] = []
        indent = 15.0
        for word in words:
            if self._width(" ".join([*line, word])) > _RIGHT - _LEFT - indent and line:
                self._line(line, indent)
                line, indent = [], 0.0
            line.append(word)
        if line:
            self._line(line, indent)
        self.y -= 4

    def equation(self, text: str, label: str) -> None:
        self._room(2 * _LEADING)
        self.y -= 6
        x = (_WIDTH - self._width(text)) / 2
        self._draw(x, text)
        self.canvas.setFont(_BODY, 10)
        self.canvas.drawRightString(_RIGHT, self.y, label)
        self.y -= _LEADING + 8

    def new_page(self) -> None:
        self._footer()
        self.canvas.showPage()
        self.page += 1
        self.y = _TOP

    def finish(self) -> bytes:
        self._footer()
        self.canvas.showPage()
        self.canvas.save()
        return self.out.getvalue()

    def _footer(self) -> None:
        self.canvas.setFont(_BODY, 10)
        self.canvas.drawCentredString(_WIDTH / 2, 40, str(self.page))

    def _room(self, needed: float) -> None:
        if self.y - needed < _BOTTOM:
            self.new_page()

    def _line(self, words: list[str], indent: float) -> None:
        self._room(_LEADING)
        self._draw(_LEFT + indent, " ".join(words))
        self.y -= _LEADING

    def _draw(self, x: float, text: str) -> None:
        """Text with its subscripts set smaller and 2.5 points below the baseline."""
        for index, piece in enumerate(_SCRIPT.split(text)):
            size, rise = (7.0, -2.5) if index % 2 else (10.0, 0.0)
            self.canvas.setFont(_BODY, size)
            self.canvas.drawString(x, self.y + rise, piece)
            x += self.canvas.stringWidth(piece, _BODY, size)

    def _width(self, text: str) -> float:
        plain = _SCRIPT.sub(r"\1", text)
        return self.canvas.stringWidth(plain, _BODY, 10)


_INTRO = (
    "Recurrent neural networks, long short-term memory and gated recurrent neural networks "
    "in particular, have been firmly established as state of the art approaches in sequence "
    "modeling and transduction problems such as language modeling and machine translation. "
)
_ATTENTION = (
    "An attention function can be described as mapping a query and a set of key-value "
    "pairs to an output, where the query, keys, values, and output are all vectors. "
)


def attention_pdf(*, encrypt: StandardEncryption | None = None) -> bytes:
    """A mini "Attention Is All You Need": two pages, numbered sections, an equation."""
    paper = _Typesetter(encrypt=encrypt)
    paper.title(TITLE)
    paper.centred("Ashish Vaswani, Noam Shazeer, Niki Parmar, Jakob Uszkoreit")
    paper.heading("Abstract")
    paper.paragraph(
        "The dominant sequence transduction models are based on complex recurrent or "
        "convolutional neural networks. We propose a new simple network architecture, the "
        "Transformer, based solely on attention mechanisms, dispensing with recurrence and "
        "convolutions entirely."
    )
    paper.heading("1 Introduction")
    paper.paragraph(_INTRO * 2)
    paper.paragraph(
        "In this work we propose the Transformer, a model architecture eschewing recurrence "
        "and instead relying entirely on an attention mechanism."
    )
    paper.heading("3 Model Architecture")
    paper.paragraph(_ATTENTION)
    paper.heading("3.2 Attention", size=11)
    paper.paragraph(_ATTENTION * 2)
    paper.heading("3.2.1 Scaled Dot-Product Attention", size=11)
    paper.paragraph(
        "We call our particular attention Scaled Dot-Product Attention. The input consists "
        "of queries and keys of dimension d_{k}, and values of dimension d_{v}, where d_{k} "
        "is the dimension of the keys. We compute the dot products of the query with all "
        "keys, divide each by the square root of d_{k}, and apply a softmax function."
    )
    paper.equation("Attention(Q, K, V) = softmax(QK / sqrt(d_{k})) V", "(1)")
    paper.new_page()
    paper.heading("3.2.2 Multi-Head Attention", size=11)
    paper.paragraph(
        "We suspect that for large values of d_{k}, the dot products grow large in "
        "magnitude, pushing the softmax function into regions where it has extremely "
        "small gradients. To counteract this effect, we scale the dot products."
    )
    paper.heading("References")
    paper.paragraph(
        "[1] Jimmy Lei Ba, Jamie Ryan Kiros, and Geoffrey E Hinton. Layer normalization."
    )
    return paper.finish()


def scanned_pdf(pages: int = 2) -> bytes:
    """Pages that are pictures of text: an image each, no text layer."""
    from PIL import Image, ImageDraw

    picture = Image.new("L", (400, 500), 255)
    draw = ImageDraw.Draw(picture)
    for row in range(20, 480, 14):
        draw.line((20, row, 380, row), fill=40, width=3)  # lines of "text", as pixels
    out = io.BytesIO()
    scan = canvas.Canvas(out, pagesize=letter)
    for _ in range(pages):
        scan.drawImage(ImageReader(picture), _LEFT, _BOTTOM, _RIGHT - _LEFT, _TOP - _BOTTOM)
        scan.showPage()
    scan.save()
    return out.getvalue()


def encrypted_pdf() -> bytes:
    """The mini paper, readable only with a password."""
    return attention_pdf(encrypt=StandardEncryption("s3cret", ownerPassword="owner", strength=128))


def owner_locked_pdf() -> bytes:
    """Encrypted with an owner's password only (printing off): any viewer opens it."""
    return attention_pdf(encrypt=StandardEncryption("", ownerPassword="owner", canPrint=0))


# --- raw PDFs, object by object -------------------------------------------------------


def raw_pdf(objects: list[bytes], *, root: int = 1) -> bytes:
    """A PDF with these objects (numbered from 1) and a correct cross-reference table."""
    out = bytearray(b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n")
    offsets = []
    for number, body in enumerate(objects, start=1):
        offsets.append(len(out))
        out += b"%d 0 obj\n%s\nendobj\n" % (number, body)
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
    out += b"".join(b"%010d 00000 n \n" % offset for offset in offsets)
    out += b"trailer\n<< /Size %d /Root %d 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (
        len(objects) + 1,
        root,
        xref,
    )
    return bytes(out)


_FONT = b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>"


def _page(contents: int, parent: int = 2) -> bytes:
    return (
        b"<< /Type /Page /Parent %d 0 R /MediaBox [0 0 612 792] /Contents %d 0 R "
        b"/Resources << /Font << /F1 %d 0 R >> >> >>" % (parent, contents, contents + 1)
    )


def _stream(data: bytes, *, flate: bool = False) -> bytes:
    filters = b" /Filter /FlateDecode" if flate else b""
    return b"<< /Length %d%s >>\nstream\n%s\nendstream" % (len(data), filters, data)


def one_page_pdf(content: bytes) -> bytes:
    """One page drawing `content` (a content stream) in Helvetica."""
    return raw_pdf(
        [
            b"<< /Type /Catalog /Pages 2 0 R >>",
            b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
            _page(contents=4),
            _stream(content),
            _FONT,
        ]
    )


@cache
def flate_bomb_pdf(inflated_bytes: int = 2 * 1024**3) -> bytes:
    """A page whose content stream is about 2 MB of deflate that inflates to
    `inflated_bytes` of spaces (whitespace in a content stream: nothing to draw).

    Made in a second, not by compressing gigabytes: after a full flush a deflate stream
    starts afresh, so one chunk's compressed bytes, repeated, inflate to the chunk
    repeated; the zlib checksum over the whole is summed chunk by chunk.
    """
    chunk = b" " * (16 * 1024 * 1024)
    repeats = inflated_bytes // len(chunk)
    raw = zlib.compressobj(9, zlib.DEFLATED, -15)
    block = raw.compress(chunk) + raw.flush(zlib.Z_FULL_FLUSH)
    checksum = 1
    for _ in range(repeats):
        checksum = zlib.adler32(chunk, checksum)
    bomb = b"\x78\xda" + block * repeats + raw.flush() + checksum.to_bytes(4, "big")
    return raw_pdf(
        [
            b"<< /Type /Catalog /Pages 2 0 R >>",
            b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
            _page(contents=4),
            _stream(bomb, flate=True),
            _FONT,
        ]
    )


def nested_arrays_pdf(depth: int = 100_000) -> bytes:
    """A page whose /Annots is an array nested `depth` deep."""
    nested = b"[" * depth + b"]" * depth
    return raw_pdf(
        [
            b"<< /Type /Catalog /Pages 2 0 R >>",
            b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
            b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Annots %s >>" % nested,
        ]
    )


def deep_dictionary(depth: int = 50_000) -> bytes:
    return b"<< /A " * depth + b"1" + b" >>" * depth


def nested_dictionaries_pdf(depth: int = 50_000) -> bytes:
    """A catalog holding a dictionary nested `depth` deep."""
    return raw_pdf(
        [
            b"<< /Type /Catalog /Pages 2 0 R /Deep %s >>" % deep_dictionary(depth),
            b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
            b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] >>",
        ]
    )


def text_page_pdf(
    text: str, *, page_before: bytes = b"", page_after: bytes = b"", pages: bytes = b"2 0 R"
) -> bytes:
    """One page of `text`; `page_before` and `page_after` go into the page's dictionary
    before and after its keys, `pages` is the catalog's /Pages."""
    return raw_pdf(
        [
            b"<< /Type /Catalog /Pages %s >>" % pages,
            b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
            b"<< /Type /Page /Parent 2 0 R %s /MediaBox [0 0 612 792] /Contents 4 0 R "
            b"/Resources << /Font << /F1 5 0 R >> >> %s >>" % (page_before, page_after),
            _stream(text_page_content([(72, 700, text)])),
            _FONT,
        ]
    )


def many_pages_pdf(pages: int = 10_000, *, declared: int | None = None) -> bytes:
    """`pages` empty pages (a page tree declaring `declared` of them, if given)."""
    kids = b" ".join(b"%d 0 R" % (3 + index) for index in range(pages))
    count = pages if declared is None else declared
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [%s] /Count %d >>" % (kids, count),
    ]
    objects += [b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] >>"] * pages
    return raw_pdf(objects)


def text_page_content(lines: list[tuple[float, float, str]], size: float = 10) -> bytes:
    """A content stream writing each (x, y, text) in Helvetica at `size`."""
    ops = [b"BT /F1 %g Tf" % size]
    for x, y, text in lines:
        escaped = text.replace("\\", "\\\\").replace("(", "\\(").replace(")", "\\)")
        ops.append(b"1 0 0 1 %g %g Tm (%s) Tj" % (x, y, escaped.encode("latin-1")))
    ops.append(b"ET")
    return b"\n".join(ops)
