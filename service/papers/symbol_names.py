"""A symbol's key: the one way of writing `d_{k}`, `d_k`, `d _k` and a PDF's `d_k` alike.

A paper writes a symbol in many ways; a passage is matched to the paper's definitions
by this key, so each is brought to one form: LaTeX, no spaces, no braces around a
single-character script (`d_{k}` -> `d_k`, `\\pi_{\\theta}` -> `\\pi_\\theta`), an
accent's argument braced (`\\hat A` -> `\\hat{A}`), Greek letters and accents a PDF
gives as Unicode named as LaTeX names them (`π_θ` -> `\\pi_\\theta`, `Â_t` ->
`\\hat{A}_t`), and a function's arguments dropped (`\\pi_\\theta(a|s)` ->
`\\pi_\\theta`). What does not look like one symbol (a formula, a number, a word) has
no key.
"""

from __future__ import annotations

import re
import unicodedata

_LOWER_GREEK = [
    "alpha",
    "beta",
    "gamma",
    "delta",
    "epsilon",
    "zeta",
    "eta",
    "theta",
    "iota",
    "kappa",
    "lamda",
    "mu",
    "nu",
    "xi",
    "omicron",
    "pi",
    "rho",
    "sigma",
    "tau",
    "upsilon",
    "phi",
    "chi",
    "psi",
    "omega",
]
# Capitals that look like no Latin letter: the others are written as Latin in LaTeX too.
_UPPER_GREEK = [
    "gamma",
    "delta",
    "theta",
    "lamda",
    "xi",
    "pi",
    "sigma",
    "upsilon",
    "phi",
    "psi",
    "omega",
]
_SYMBOL_FORMS = {
    "GREEK LUNATE EPSILON SYMBOL": "epsilon",
    "GREEK THETA SYMBOL": "vartheta",
    "GREEK PHI SYMBOL": "phi",
    "SCRIPT SMALL L": "ell",
}


def _latex_name(unicode_name: str) -> str:
    return "lambda" if unicode_name == "lamda" else unicode_name  # Unicode spells it so


_GREEK = {
    **{
        unicodedata.lookup(f"GREEK SMALL LETTER {name}"): _latex_name(name)
        for name in _LOWER_GREEK
        if name != "omicron"
    },
    **{
        unicodedata.lookup(f"GREEK CAPITAL LETTER {name}"): _latex_name(name).capitalize()
        for name in _UPPER_GREEK
    },
    **{unicodedata.lookup(name): latex for name, latex in _SYMBOL_FORMS.items()},
}
GREEK_LETTERS = "".join(_GREEK)
_GREEK_NAMES = frozenset(_GREEK.values()) | {"varepsilon", "varphi", "varrho", "varsigma"}
# Combining marks a PDF puts after a letter, as the LaTeX accents that print them.
_ACCENTS = {"\u0302": "hat", "\u0303": "tilde", "\u0304": "bar", "\u0305": "bar"}
_STYLES = (
    "hat|tilde|bar|vec|dot|ddot|check|breve|widehat|widetilde|overline|underline|"
    "mathbf|mathcal|mathbb|mathrm|mathit|mathsf|mathscr|mathfrak|boldsymbol|bm|"
    "text|textrm|textit|operatorname"
)
_SPACING = re.compile(r"\\[,;:! ]|\\(?:displaystyle|textstyle|scriptstyle|left|right)(?![A-Za-z])")
_WRAPPER = re.compile(r"^\\ensuremath\s*\{(?P<inside>.*)\}$", re.DOTALL)
_STYLE_SPACE = re.compile(rf"\\(?P<style>{_STYLES})\s+(?P<char>\\[A-Za-z]+|[A-Za-z0-9])")
_SPACES_AFTER_WORD = re.compile(r"(?P<word>\\[A-Za-z]+)\s+(?=[A-Za-z])")
_SINGLE_SCRIPT = re.compile(r"(?P<mark>[_^])\{(?P<inside>\\[A-Za-z]+|[A-Za-z0-9*'])\}")
_ARGUMENTS = re.compile(r"\((?:[^()]|\([^()]*\))*\)$")
_GROUP = r"\{(?:[^{}]|\{[^{}]*\})+\}"
_BASE = rf"(?:\\(?:{_STYLES}){_GROUP}|\\[A-Za-z]+|[A-Za-z])"
_SCRIPT = rf"(?:[_^](?:{_GROUP}|\\[A-Za-z]+|[A-Za-z0-9*]))"
_SYMBOL = re.compile(rf"{_BASE}(?:'|\\prime)*{_SCRIPT}{{0,3}}(?:'|\\prime)*")
_LONGEST = 60


def symbol_key(written: str) -> str | None:
    """The key of a symbol as written in LaTeX math or a PDF's text; None for what is not
    one symbol."""
    text = _latex_names(written).strip()
    wrapped = _WRAPPER.match(text)
    if wrapped:
        text = wrapped["inside"]
    text = _SPACING.sub("", text)
    text = _STYLE_SPACE.sub(lambda m: f"\\{m['style']}{{{m['char']}}}", text)
    text = _SPACES_AFTER_WORD.sub(lambda m: m["word"] + "{}", text)
    text = re.sub(r"\s+", "", text)
    text = text.replace("{}", "")
    while text.startswith("{") and text.endswith("}") and _balanced(text[1:-1]):
        text = text[1:-1]
    text = _SINGLE_SCRIPT.sub(lambda m: m["mark"] + m["inside"], text)
    text = _ARGUMENTS.sub("", text)
    if not text or len(text) > _LONGEST or not _SYMBOL.fullmatch(text):
        return None
    return text if _known_base(text) else None


def _latex_names(text: str) -> str:
    """Unicode Greek letters and accented letters as LaTeX writes them."""
    decomposed = unicodedata.normalize("NFD", text)
    pieces: list[str] = []
    for char in decomposed:
        if char in _ACCENTS and pieces:
            pieces[-1] = f"\\{_ACCENTS[char]}{{{pieces[-1]}}}"
        elif char in _GREEK:
            pieces.append(f"\\{_GREEK[char]} ")
        else:
            pieces.append(char)
    return "".join(pieces)


def _balanced(text: str) -> bool:
    depth = 0
    for char in text:
        depth += (char == "{") - (char == "}")
        if depth < 0:
            return False
    return depth == 0


def _known_base(symbol: str) -> bool:
    """A control word standing for the symbol itself must be a letter (`\\alpha`,
    `\\ell`), not an operator (`\\sum`, `\\log`) or a command (`\\cite`)."""
    base = re.match(r"\\([A-Za-z]+)", symbol)
    if base is None:
        return True
    name = base[1]
    return name in _GREEK_NAMES or name in _STYLES.split("|") or name in {"ell", "hbar"}
