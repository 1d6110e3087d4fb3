"""What an answer's event stream carries, event by event, as the OpenAPI schema says it.

With `Accept: text/event-stream`, an answering route sends Server-Sent Events
(service/tutor/responding.py): `delta` events while the model writes, then one `done`
or one `error`. Each event's `data` is one line of JSON, described here;
tests/api/core/test_openapi.py checks real streams against this description.
"""

from __future__ import annotations

import uuid
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from service.errors import ErrorBody

# Where FastAPI puts the models the routes name; the stream's schemas point there.
_COMPONENTS = "#/components/schemas/{model}"


class AnswerDelta(BaseModel):
    """The `data` of a `delta` event."""

    model_config = ConfigDict(
        json_schema_extra={"examples": [{"text": "Each query asks which keys look like it"}]}
    )

    text: str = Field(description="The next piece of the answer: append it to the last.")


class AnswerStreamError(BaseModel):
    """The `data` of an `error` event: the answer failed or broke off after the stream
    had started, and is saved as such."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "error": {
                        "code": "llm_interrupted",
                        "message": "The answer stream broke off. Your message is saved; "
                        "retry the answer with POST /v1/sessions/"
                        "5f0c6f2e-8f0e-4c44-9a43-3f1f1fb0d2a1/messages/"
                        "0b7a5a53-3d8e-4b43-a1c0-5b1e8e7c9d10/retry.",
                    },
                    "message_id": "0b7a5a53-3d8e-4b43-a1c0-5b1e8e7c9d10",
                }
            ]
        }
    )

    error: ErrorBody
    message_id: uuid.UUID = Field(
        description="The answer, kept as failed or interrupted with its text so far: retry "
        "it with POST /v1/sessions/{session_id}/messages/{message_id}/retry."
    )


def _event(name: str, data: dict[str, Any], when: str) -> dict[str, Any]:
    """One kind of event: its name, and its `data`, a string of JSON of the given schema."""
    return {
        "title": f"{name.capitalize()}Event",
        "description": when,
        "type": "object",
        "required": ["event", "data"],
        "properties": {
            "event": {"const": name},
            "data": {
                "type": "string",
                "contentMediaType": "application/json",
                "contentSchema": data,
            },
        },
    }


def _schema_of(model: type[BaseModel]) -> dict[str, Any]:
    schema = model.model_json_schema(ref_template=_COMPONENTS)
    # The models it names (ErrorBody) are in the document's components already.
    schema.pop("$defs", None)
    return schema


ANSWER_EVENTS: dict[str, Any] = {
    "title": "AnswerEvent",
    "description": "One event of the stream. The body is a sequence of them, each "
    "`event: <name>` and `data: <one line of JSON>` ending in a blank line: `delta` "
    "events, then exactly one `done` or `error`. Lines starting with `:` are comments that "
    "keep the connection open while the model thinks; ignore them.",
    "oneOf": [
        _event("delta", _schema_of(AnswerDelta), "The next piece of the answer's text."),
        _event(
            "done",
            {
                "allOf": [
                    {"$ref": _COMPONENTS.format(model="MessageEnvelope")},
                    {
                        "type": "object",
                        "properties": {
                            "stumped": {
                                "type": "boolean",
                                "description": "Present and true when the follow-up said "
                                "the learner is lost (“I’m lost”, “I don’t get it”): "
                                "offer the way back, POST /v1/sessions/{session_id}/"
                                "prerequisites with `trigger: lost`.",
                            }
                        },
                    },
                ]
            },
            "The answer is complete: the saved message, as the JSON answer would have it "
            "(and `stumped`, on a follow-up that says the learner is lost).",
        ),
        _event(
            "error",
            _schema_of(AnswerStreamError),
            "The answer failed or broke off; its text so far is saved, and `message_id` "
            "names it to retry.",
        ),
    ],
}

ANSWER_STREAM = """\
`text/event-stream` when the request says `Accept: text/event-stream`, for example:

```
event: delta
data: {"text": "Each query asks"}

event: delta
data: {"text": " which keys look like it."}

event: done
data: {"message": {"id": "…", "status": "complete", …}}
```"""
