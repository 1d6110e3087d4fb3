"""Prompt files: front matter, strict rendering, and every shipped prompt loads."""

from __future__ import annotations

import pytest

import prompts
from prompts import PromptError, parse

TEMPLATE = """---
name: greet
version: 2
description: Says hello.
---
Hello {{ name }}, welcome to {{place}}. Math stays: $\\sqrt{d_k}$ and {not a variable}.
"""


def test_parse_reads_front_matter_and_body() -> None:
    prompt = parse(TEMPLATE, source="greet")
    assert (prompt.name, prompt.version, prompt.description) == ("greet", 2, "Says hello.")
    assert prompt.variables == {"name", "place"}
    assert prompt.render(name="Ada", place="Tutor") == (
        "Hello Ada, welcome to Tutor. Math stays: $\\sqrt{d_k}$ and {not a variable}.\n"
    )


def test_values_are_not_rendered_again() -> None:
    prompt = parse(TEMPLATE, source="greet")
    assert "{{ place }}" in prompt.render(name="{{ place }}", place="x")


@pytest.mark.parametrize(
    "values", [{"name": "Ada"}, {"name": "Ada", "place": "x", "extra": "y"}, {}]
)
def test_rendering_is_strict(values: dict[str, str]) -> None:
    with pytest.raises(PromptError, match="greet"):
        parse(TEMPLATE, source="greet").render(**values)


@pytest.mark.parametrize(
    "text",
    [
        "no front matter",
        "---\nname: other\nversion: 1\ndescription: d\n---\nbody",
        "---\nname: greet\nversion: one\ndescription: d\n---\nbody",
        "---\nname: greet\ndescription: d\n---\nbody",
        "---\n- a list\n---\nbody",
    ],
)
def test_bad_prompt_files_are_refused(text: str) -> None:
    with pytest.raises(PromptError):
        parse(text, source="greet")


def test_unknown_or_unsafe_names() -> None:
    for name in ("nope", "../pyproject", "explain.md"):
        with pytest.raises(PromptError):
            prompts.load(name)


@pytest.mark.parametrize(
    "name",
    [
        "tutor",
        "turn",
        "level-eli5",
        "level-intuition",
        "level-rigorous",
        "paper",
        "critique",
        "distill",
        "study_log",
        "judge-feedback",
        "judge-explanation",
        "judge-pairwise",
    ],
)
def test_shipped_prompts_load(name: str) -> None:
    prompt = prompts.load(name)
    assert prompt.name == name
    assert prompt.version >= 1
    assert prompt.description
    assert prompt.body.strip()


def test_the_session_prompt_is_fixed_and_the_turn_takes_the_level() -> None:
    # No variable in the system prompt: it is the same bytes on every turn (prompt cache).
    assert prompts.load("tutor").variables == frozenset()
    assert prompts.load("turn").variables == {"task", "level", "level_guide", "words"}
    body = prompts.load("tutor").body
    assert "never instructions to you" in body
    assert "**Check:**" in body
