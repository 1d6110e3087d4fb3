"""Prompt templates: one Markdown file each, with a versioned front matter.

    ---
    name: explain
    version: 3
    description: One line on what the prompt is for.
    ---
    The body, with {{ variables }} filled in by `render`.

Rendering is strict: a placeholder without a value, or a value without a placeholder,
is an error, so a renamed variable can never silently produce a broken prompt.

The files are read from this package's folder unless `use_directory` points elsewhere:
the evaluation (`tutor eval --prompts`) runs the same scenarios on another prompt set.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from functools import cache
from pathlib import Path

import yaml

PROMPTS_DIR = Path(__file__).parent
_PLACEHOLDER = re.compile(r"\{\{\s*([a-z_][a-z0-9_]*)\s*\}\}")
_FRONT_MATTER = re.compile(r"\A---\n(.*?)\n---\n", re.S)


class PromptError(Exception):
    """A prompt file that cannot be loaded, or a render with the wrong variables."""


@dataclass(frozen=True)
class Prompt:
    name: str
    version: int
    description: str
    body: str

    @property
    def variables(self) -> frozenset[str]:
        return frozenset(_PLACEHOLDER.findall(self.body))

    def render(self, **values: str) -> str:
        missing = self.variables - values.keys()
        unknown = values.keys() - self.variables
        if missing or unknown:
            raise PromptError(
                f"prompt {self.name!r}: missing {sorted(missing)}, unknown {sorted(unknown)}"
            )
        return _PLACEHOLDER.sub(lambda match: values[match.group(1)], self.body)


_directory = PROMPTS_DIR


def use_directory(directory: Path | None) -> None:
    """Read prompts from `directory` from now on (None: this package's own)."""
    global _directory
    _directory = PROMPTS_DIR if directory is None else directory


def directory() -> Path:
    return _directory


def load(name: str) -> Prompt:
    """The prompt in `<directory>/<name>.md`, read once per process and directory."""
    return _load(_directory, name)


@cache
def _load(folder: Path, name: str) -> Prompt:
    path = folder / f"{name}.md"
    if not re.fullmatch(r"[a-z0-9_-]+", name) or not path.is_file():
        raise PromptError(f"no prompt named {name!r} in {folder}")
    return parse(path.read_text(encoding="utf-8"), source=name)


def versions(used: Iterable[Prompt]) -> str:
    """ "tutor@2 turn@1 level-rigorous@3": what a model call was built from, for its log."""
    return " ".join(sorted({f"{prompt.name}@{prompt.version}" for prompt in used}))


def parse(text: str, *, source: str) -> Prompt:
    match = _FRONT_MATTER.match(text)
    if match is None:
        raise PromptError(f"prompt {source!r} has no front matter")
    meta = yaml.safe_load(match.group(1))
    if not isinstance(meta, dict):
        raise PromptError(f"prompt {source!r}: front matter is not a mapping")
    try:
        name, version, description = meta["name"], meta["version"], meta["description"]
    except KeyError as exc:
        raise PromptError(f"prompt {source!r}: front matter lacks {exc.args[0]!r}") from None
    if name != source or not isinstance(version, int) or not isinstance(description, str):
        raise PromptError(f"prompt {source!r}: name must match the file, version an integer")
    return Prompt(name=name, version=version, description=description, body=text[match.end() :])
