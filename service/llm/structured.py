"""Structured output that survives real servers: ask for JSON, parse it tolerantly,
validate it with pydantic, and give the model one chance to repair a bad answer.

Servers differ in what they accept: OpenAI, vLLM, llama.cpp and Ollama take a JSON
schema as `response_format`, some servers only `{"type": "json_object"}`, some neither.
In `auto` mode a refusal of one form falls back to the next, remembered per model
(service/llm/endpoint.py), so only the first call pays for the discovery.

The schema sent is the strict one: every property required (nullable where it may be
empty), no other properties. Servers that constrain the output with a grammar
(llama.cpp, vLLM, Ollama) fill exactly the required fields, so an optional field is one
they leave out; and they hold strings to their `maxLength`, which keeps a small model
from writing one string until its token limit. OpenAI's strict mode refuses string
lengths, so they are left out for OpenAI (and for a server that refused them once).
Validation stays the pydantic model's own, lengths included.
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


# Keywords no server needs (`default`), and those OpenAI's strict mode refuses, which
# pydantic checks after the answer instead.
_NEVER_SENT = frozenset({"default"})
_STRING_LENGTHS = frozenset({"minLength", "maxLength"})
# Keywords whose value maps names to schemas: the names are not keywords.
_NAMED_SCHEMAS = frozenset({"properties", "$defs"})


def strict_schema(schema: type[BaseModel], *, lengths: bool = True) -> dict[str, Any]:
    left_out = _NEVER_SENT if lengths else _NEVER_SENT | _STRING_LENGTHS
    strict: dict[str, Any] = _strict(schema.model_json_schema(), left_out)
    return strict


def _strict(node: Any, left_out: frozenset[str]) -> Any:
    if isinstance(node, list):
        return [_strict(item, left_out) for item in node]
    if not isinstance(node, dict):
        return node
    strict: dict[str, Any] = {}
    for key, value in node.items():
        if key in _NAMED_SCHEMAS:
            strict[key] = {name: _strict(item, left_out) for name, item in value.items()}
        elif key not in left_out:
            strict[key] = _strict(value, left_out)
    if "properties" in strict:
        strict["required"] = list(strict["properties"])
        strict["additionalProperties"] = False
    return strict


def response_format(
    mode: StructuredMode, schema: type[BaseModel], *, lengths: bool = True
) -> dict[str, Any] | None:
    if mode == "json_schema":
        return {
            "type": "json_schema",
            "json_schema": {
                "name": schema.__name__,
                "strict": True,
                "schema": strict_schema(schema, lengths=lengths),
            },
        }
    if mode == "json_object":
        return {"type": "json_object"}
    return None


def schema_instruction(schema: type[BaseModel]) -> ChatMessage:
    """Said in every mode: json_object needs the word JSON, prompt mode has nothing else."""
    return ChatMessage.of(
        "system",
        "Reply with one JSON object and nothing else: no prose, no code fences. "
        "It must match this JSON Schema, every property present:\n"
        + json.dumps(strict_schema(schema)),
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


# A pydantic model the answer must validate as.
Schema = TypeVar("Schema", bound=BaseModel)


def parse_output(text: str, schema: type[Schema]) -> Schema:
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
