"""A paper's own macros, expanded: what `\\newcommand{\\dk}{d_k}` makes `$\\dk$` mean.

Papers name their notation through macros (`\\dmodel`, `\\vx`, `\\E`), and a symbol
table or a reader that saw `\\dmodel` where the paper prints d_model would match
nothing. The definitions (`\\newcommand`, `\\renewcommand`, `\\providecommand`, `\\def`
with plain parameters, `\\DeclareMathOperator`) are read and taken out of the text, and
their uses replaced, arguments and an optional first argument's default included.
Expansion is bounded: a few rounds for macros that use macros, and a cap on the text's
growth, so `\\def\\a{\\a\\a}` is refused rather than followed.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from service.papers.latex_source import unreadable
from service.papers.latex_syntax import read_argument, read_group, read_option, skip_spaces

# Commands whose meaning the reader of a paper's structure relies on: a paper that
# redefines one keeps LaTeX's meaning here.
_KEPT = frozenset(
    {
        "begin", "end", "section", "subsection", "subsubsection", "paragraph", "chapter",
        "label", "ref", "eqref", "cite", "title", "input", "include", "item", "appendix",
        "maketitle", "caption", "footnote", "newcommand", "renewcommand", "def", "[", "]",
    }
)  # fmt: skip
_ROUNDS = 8
_MOST_MACROS = 2_000
_DEFINITION = re.compile(
    r"\\(?:(?P<command>(?:renew|provide|new)command)\*?"
    r"|(?P<def>[gex]?def)(?![A-Za-z])"
    r"|(?P<operator>DeclareMathOperator)(?P<star>\*?))"
)
_USE = re.compile(r"\\(?P<name>[A-Za-z@]+)")
_PARAMETER = re.compile(r"#([1-9])")


@dataclass(frozen=True)
class Macro:
    parameters: int
    # The first argument's default, when it is optional (`\newcommand{\x}[2][0]{…}`).
    default: str | None
    body: str


def expand_macros(text: str, *, max_chars: int) -> str:
    """`text` without its macro definitions and with their uses expanded; raises
    ExtractionFailed when expansion grows it past `max_chars`."""
    macros, text = take_definitions(text)
    if not macros:
        return text
    for _ in range(_ROUNDS):
        expanded = _expand_once(text, macros)
        if len(expanded) > max_chars:
            raise unreadable("The paper's macros expand without end, or far too long.")
        if expanded == text:
            break
        text = expanded
    return text


def take_definitions(text: str) -> tuple[dict[str, Macro], str]:
    """The macros `text` defines, and `text` without the definitions."""
    macros: dict[str, Macro] = {}
    kept: list[str] = []
    position = 0
    for match in _DEFINITION.finditer(text):
        if match.start() < position:
            continue  # inside a definition already taken
        definition = _read_definition(text, match)
        if definition is None:
            continue
        name, macro, end = definition
        kept.append(text[position : match.start()])
        position = end
        # \providecommand defines only what is not yet defined; the rest redefine.
        provided_again = match["command"] == "providecommand" and name in macros
        if name not in _KEPT and len(macros) < _MOST_MACROS and not provided_again:
            macros[name] = macro
    kept.append(text[position:])
    return macros, "".join(kept)


def _read_definition(text: str, match: re.Match[str]) -> tuple[str, Macro, int] | None:
    if match["operator"]:
        return _read_operator(text, match.end(), starred=bool(match["star"]))
    if match["def"]:
        return _read_def(text, match.end())
    return _read_newcommand(text, match.end())


def _read_newcommand(text: str, position: int) -> tuple[str, Macro, int] | None:
    name = read_argument(text, position)
    if name is None:
        return None
    count = read_option(text, name[1])
    parameters = int(count[0]) if count and count[0].strip().isdigit() else 0
    after = count[1] if count else name[1]
    default = read_option(text, after) if parameters else None
    body = read_group(text, default[1] if default else after)
    if body is None:
        return None
    macro = Macro(parameters, default[0] if default else None, body[0])
    return _control_name(name[0]), macro, body[1]


def _read_def(text: str, position: int) -> tuple[str, Macro, int] | None:
    name = _USE.match(text, skip_spaces(text, position))
    if name is None:
        return None
    # Only plain parameters, `#1#2`: a delimited one (`#1.`) is TeX's business.
    parameters = re.match(r"(?:#[1-9])*", text[name.end() :])
    signature = parameters.group() if parameters else ""
    body = read_group(text, name.end() + len(signature))
    if body is None or not text.startswith("{", name.end() + len(signature)):
        return None
    return name["name"], Macro(len(signature) // 2, None, body[0]), body[1]


def _read_operator(text: str, position: int, *, starred: bool) -> tuple[str, Macro, int] | None:
    name = read_argument(text, position)
    shown = read_group(text, name[1]) if name else None
    if name is None or shown is None:
        return None
    operator = "\\operatorname*" if starred else "\\operatorname"
    return _control_name(name[0]), Macro(0, None, f"{operator}{{{shown[0]}}}"), shown[1]


def _control_name(written: str) -> str:
    return written.strip().lstrip("\\")


def _expand_once(text: str, macros: dict[str, Macro]) -> str:
    pieces: list[str] = []
    position = 0
    for use in _USE.finditer(text):
        if use.start() < position:
            continue  # inside arguments already taken
        macro = macros.get(use["name"])
        if macro is None:
            continue
        expansion = _apply(text, use.end(), macro)
        if expansion is None:
            continue
        body, end = expansion
        # The spaces after it are kept: TeX would drop them, but a paper's prose then
        # says `\dk{} is` or `\dk\ is` anyway, and in math they do not matter.
        pieces.append(text[position : use.start()])
        pieces.append(body)
        position = end
    pieces.append(text[position:])
    return "".join(pieces)


def _apply(text: str, position: int, macro: Macro) -> tuple[str, int] | None:
    arguments: list[str] = []
    if macro.default is not None:
        option = read_option(text, position)
        arguments.append(option[0] if option else macro.default)
        position = option[1] if option else position
    while len(arguments) < macro.parameters:
        argument = read_argument(text, position)
        if argument is None:
            return None
        arguments.append(argument[0])
        position = argument[1]
    body = _PARAMETER.sub(lambda m: _argument(arguments, int(m.group(1))), macro.body)
    return body, position


def _argument(arguments: list[str], number: int) -> str:
    return arguments[number - 1] if number <= len(arguments) else ""
