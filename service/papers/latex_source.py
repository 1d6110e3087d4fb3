"""A paper's LaTeX source as one text: its files read from the archive, the main one
found, its `\\input`s and `\\include`s put in place, its comments gone.

The archive is never unpacked to disk: its members are read in memory, regular files
only (a link, a device or a name outside the archive is never used), with caps on the
members, on every byte the archive declares (a tar bomb is refused before it is
inflated) and on the text the inputs add up to (a file input a thousand times).
Anything past a cap, an `\\input` loop or inputs nested too deep is an
ExtractionFailed, never a crash.
"""

from __future__ import annotations

import gzip
import posixpath
import re
import tarfile
import zlib
from dataclasses import dataclass
from pathlib import Path

from service.papers.failures import ExtractionFailed, FailureCode


@dataclass(frozen=True)
class Limits:
    # Every byte of every member the archive declares, figures included: inflating a
    # tar costs this much work however little of it is kept.
    archive_bytes: int = 200 * 1024 * 1024
    members: int = 5_000
    # One text file, and all of them together.
    file_bytes: int = 4 * 1024 * 1024
    text_bytes: int = 16 * 1024 * 1024
    # The whole paper once its inputs are in place.
    expanded_chars: int = 4 * 1024 * 1024
    input_depth: int = 12


LIMITS = Limits()

# Files an \input may name: LaTeX's own and those papers use for parts of their text.
_TEXT_SUFFIXES = (".tex", ".ltx", ".latex", ".bbl")
_MAIN_MARKER = re.compile(r"\\document(?:class|style)\b")
_BEGIN_DOCUMENT = re.compile(r"\\begin\s*\{document\}")
# \input{file}, \include{file}, \subfile{file}, and TeX's own `\input file`.
_INPUT = re.compile(
    r"\\(?P<command>input|include|subfile)\b\s*(?:\{(?P<braced>[^{}\n]*)\}|(?P<bare>[^\s{}\\]+))"
)
_PREFERRED_MAIN = ("main.tex", "ms.tex", "paper.tex")


def unreadable(message: str) -> ExtractionFailed:
    return ExtractionFailed(FailureCode.latex_unreadable, message)


def read_source(path: Path, limits: Limits = LIMITS) -> str:
    """The paper at `path` (a tar of its source, gzipped or not, or one gzipped .tex)
    as one LaTeX text with its inputs in place and its comments removed."""
    files = read_files(path, limits)
    main = main_file(files)
    return expand_inputs(files, main, limits)


def read_files(path: Path, limits: Limits = LIMITS) -> dict[str, str]:
    """The text files of the source, by their normalised names in the archive."""
    try:
        if _is_tar(path):
            return _tar_texts(path, limits)
        return {"main.tex": _gunzipped_text(path, limits)}
    except (tarfile.TarError, OSError, EOFError, zlib.error) as exc:
        raise unreadable(f"The paper's source archive is damaged: {exc}.") from None


def _is_tar(path: Path) -> bool:
    try:
        return tarfile.is_tarfile(path)
    except (OSError, EOFError, zlib.error):
        return False


def _tar_texts(path: Path, limits: Limits) -> dict[str, str]:
    texts: dict[str, str] = {}
    declared = 0
    kept = 0
    # Stream mode ("r|*"): members are read in order and nothing is seeked or indexed.
    with tarfile.open(path, mode="r|*") as archive:
        for count, member in enumerate(archive, start=1):
            declared += member.size
            if count > limits.members or declared > limits.archive_bytes:
                raise unreadable(
                    "The paper's source archive is too large to read "
                    f"(over {limits.members} files or {_mib(limits.archive_bytes)} MiB)."
                )
            name = _member_name(member)
            if name is None:
                continue
            kept += member.size
            if member.size > limits.file_bytes or kept > limits.text_bytes:
                raise unreadable(f"The paper's source file {name} is too large to read.")
            stream = archive.extractfile(member)
            if stream is not None:
                texts[name] = _decode(stream.read(member.size))
    return texts


def _member_name(member: tarfile.TarInfo) -> str | None:
    """The name a text file is looked up by; None for what is never read: links,
    devices, directories, figures, and names that leave the archive."""
    if not member.isreg() or not member.name.lower().endswith(_TEXT_SUFFIXES):
        return None
    name = posixpath.normpath(member.name.replace("\\", "/"))
    if name.startswith(("/", "../")) or name == "..":
        return None
    return name


def _gunzipped_text(path: Path, limits: Limits) -> str:
    with gzip.open(path, "rb") as stream:
        # One byte more than allowed tells "too large" without inflating the rest.
        data = stream.read(limits.file_bytes + 1)
    if len(data) > limits.file_bytes:
        raise unreadable(
            f"The paper's source is larger than {_mib(limits.file_bytes)} MiB unpacked."
        )
    return _decode(data)


def _decode(data: bytes) -> str:
    # Older papers are Latin-1; every byte decodes as that, so it is the fallback.
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        return data.decode("latin-1")


def _mib(size: int) -> str:
    return f"{size / 1024 / 1024:g}"


def main_file(files: dict[str, str]) -> str:
    """The file LaTeX is run on: the one with `\\documentclass` (and `\\begin{document}`,
    where several have the first), by a usual name where that still leaves several."""
    candidates = [name for name, text in files.items() if _MAIN_MARKER.search(strip_comments(text))]
    if not candidates:
        raise unreadable("The paper's source has no main file (none has \\documentclass).")
    with_body = [name for name in candidates if _BEGIN_DOCUMENT.search(files[name])]
    candidates = with_body or candidates
    for preferred in _PREFERRED_MAIN:
        if preferred in candidates:
            return preferred
    # The shallowest, then the largest: a template in a subfolder is rarely the paper.
    return min(candidates, key=lambda name: (name.count("/"), -len(files[name]), name))


def strip_comments(text: str) -> str:
    """The text without its `%` comments (a `\\%` is a percent sign, not a comment), and
    without the line break a comment ends with, as TeX reads it."""
    return _COMMENT.sub(_keep_escapes, text)


# A `%` preceded by an even number of backslashes (none included) starts a comment.
_COMMENT = re.compile(r"(?P<escapes>(?<!\\)(?:\\\\)*)%[^\n]*(?:\n[ \t]*)?")


def _keep_escapes(match: re.Match[str]) -> str:
    return match["escapes"]


def expand_inputs(files: dict[str, str], main: str, limits: Limits = LIMITS) -> str:
    """`main`'s text with every `\\input` and `\\include` replaced by the file it names
    (a missing one by nothing, as a paper's figures-only inputs often are)."""
    expansion = _Expansion(files, main, limits)
    return expansion.text_of(main, stack=())


class _Expansion:
    def __init__(self, files: dict[str, str], main: str, limits: Limits) -> None:
        self._files = files
        # LaTeX runs in the main file's folder: every input is found from there.
        self._folder = posixpath.dirname(main)
        self._limits = limits
        self._chars = 0

    def text_of(self, name: str, *, stack: tuple[str, ...]) -> str:
        if name in stack:
            raise unreadable(f"The paper's source inputs {name} inside itself.")
        if len(stack) >= self._limits.input_depth:
            raise unreadable(
                f"The paper's source nests its inputs more than {self._limits.input_depth} deep."
            )
        text = strip_comments(self._files[name])
        self._count(len(text))
        return _INPUT.sub(lambda match: self._input(match, (*stack, name)), text)

    def _input(self, match: re.Match[str], stack: tuple[str, ...]) -> str:
        target = self._resolve(match["braced"] or match["bare"] or "")
        if target is None:
            return ""
        text = self.text_of(target, stack=stack)
        # \include starts a new page: a paragraph break is the nearest thing here.
        return f"\n\n{text}\n\n" if match["command"] == "include" else text

    def _resolve(self, written: str) -> str | None:
        """The file an input names, as LaTeX looks for it: from the main file's folder,
        with `.tex` added to a name without it. Only the archive's own files are looked
        at, so a name like `../../etc/passwd` finds nothing."""
        written = written.strip().strip('"')
        if not written:
            return None
        name = posixpath.normpath(posixpath.join(self._folder, written))
        for candidate in (name, name + ".tex"):
            if candidate in self._files:
                return candidate
        return None

    def _count(self, chars: int) -> None:
        self._chars += chars
        if self._chars > self._limits.expanded_chars:
            raise unreadable(
                "The paper's source is too long once its inputs are in place "
                f"(over {self._limits.expanded_chars:,} characters)."
            )
