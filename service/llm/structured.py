"""Structured output that survives real servers: ask for JSON, parse it tolerantly,
validate it with pydantic, and give the model one chance to repair a bad answer.

Servers differ in what they accept: OpenAI and vLLM take a JSON schema as
`response_format`, some servers only `{"type": "json_object"}`, some neither. In `auto`
mode a 400 answer to one form falls back to the next, and the process remembers the
form that worked, so only the first call pays for the discovery.
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from typing import Any, Literal, TypeVar

from pydantic import BaseModel, ValidationError

from service.llm.tokens import ChatMessage

StructuredMode = Literal["json_schema", "json_object", "prompt"]
FALLBACK_ORDER: tuple[StructuredMode, ...] = ("json_schema", "json_object", "prompt")

_FENCED = re.compile(r"```(?:json|JSON)?\s*\n(.*?)\n?```", re.S)


class OutputInvalid(Exception):
    """The model's text is not a valid instance of the schema; says why, for the repair."""


def response_format(mode: StructuredMode, schema: type[BaseModel]) -> dict[str, Any] | None:
    if mode == "json_schema":
        return {
            "type": "json_schema",
            "json_schema": {"name": schema.__name__, "schema": schema.model_json_schema()},
        }
    if mode == "json_object":
        return {"type": "json_object"}
    return None


def schema_instruction(schema: type[BaseModel]) -> ChatMessage:
    """Said in every mode: json_object needs the word JSON, prompt mode has nothing else."""
    return ChatMessage.of(
        "system",
        "Reply with one JSON object and nothing else: no prose, no code fences. "
        "It must match this JSON Schema:\n" + json.dumps(schema.model_json_schema()),
    )


def _first_json_object(text: str) -> str | None:
    """The first balanced {...} in text, skipping braces inside JSON strings."""
    start = text.find("{")
    while start != -1:
        depth, in_string, escaped = 0, False, False
        for index in range(start, len(text)):
            char = text[index]
            if in_string:
                if escaped:
                    escaped = False
                elif char == "\\":
                    escaped = True
                elif char == '"':
                    in_string = False
            elif char == '"':
                in_string = True
            elif char == "{":
                depth += 1
            elif char == "}":
                depth -= 1
                if depth == 0:
                    return text[start : index + 1]
        start = text.find("{", start + 1)
    return None


def extract_json(text: str) -> Any:
    """Parse JSON that may come fenced in Markdown or wrapped in prose."""
    candidates = [text.strip()]
    candidates += [block.strip() for block in _FENCED.findall(text)]
    embedded = _first_json_object(text)
    if embedded is not None:
        candidates.append(embedded)
    for candidate in candidates:
        try:
            return json.loads(candidate)
        except ValueError:
            continue
    raise OutputInvalid("the reply contains no JSON object")


Model = TypeVar("Model", bound=BaseModel)


def parse_output(text: str, schema: type[Model]) -> Model:
    try:
        return schema.model_validate(extract_json(text))
    except ValidationError as exc:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in error['loc']) or 'object'}: {error['msg']}"
            for error in exc.errors()
        )
        raise OutputInvalid(problems) from None


def repair_messages(
    messages: Sequence[ChatMessage], bad_reply: str, problem: str
) -> list[ChatMessage]:
    """The conversation plus the bad reply and what was wrong with it."""
    return [
        *messages,
        ChatMessage.of("assistant", bad_reply),
        ChatMessage.of(
            "user",
            f"That reply was not valid: {problem}. Reply again with only the corrected "
            "JSON object.",
        ),
    ]
