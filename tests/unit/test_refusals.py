"""Reading model servers' refusals: each kind of 400 is what it is, whatever else it names."""

from __future__ import annotations

import pytest

from service.llm.refusals import (
    ContextOverflow,
    ErrorBody,
    FormatRefusal,
    OtherRefusal,
    ParameterRefused,
    Refusal,
    StreamingRefused,
    classify,
)

OPENAI_MAX_TOKENS = {
    "error": {
        "message": "Unsupported parameter: 'max_tokens' is not supported with this model. "
        "Use 'max_completion_tokens' instead.",
        "type": "invalid_request_error",
        "param": "max_tokens",
        "code": "unsupported_parameter",
    }
}


@pytest.mark.parametrize(
    ("body", "sent", "refusal"),
    [
        (OPENAI_MAX_TOKENS, "max_tokens", ParameterRefused("max_tokens")),
        (
            {"error": {"message": "Unrecognized request argument supplied: max_completion_tokens"}},
            "max_completion_tokens",
            ParameterRefused("max_completion_tokens"),
        ),
        (
            {
                "error": {
                    "code": 400,
                    "message": "request (8225 tokens) exceeds the available context size "
                    "(8192 tokens), try increasing it",
                    "type": "exceed_context_size_error",
                    "n_prompt_tokens": 8225,
                    "n_ctx": 8192,
                }
            },
            "max_tokens",
            ContextOverflow(8192),
        ),
        (
            {
                "object": "error",
                "message": "'max_tokens' or 'max_completion_tokens' is too large: 1500. This "
                "model's maximum context length is 4096 tokens and your request has 3000 input "
                "tokens (1500 > 4096 - 3000).",
                "type": "BadRequestError",
                "code": 400,
            },
            "max_tokens",
            ContextOverflow(4096),
        ),
        (
            {
                "error": {
                    "message": "Your input exceeds the context window of this model.",
                    "code": "context_length_exceeded",
                }
            },
            "max_completion_tokens",
            ContextOverflow(None),
        ),
        (
            {
                "error": {
                    "message": "Your organization must be verified to stream this model.",
                    "param": "stream",
                    "code": "unsupported_value",
                }
            },
            "max_completion_tokens",
            StreamingRefused(),
        ),
        (
            {
                "error": {
                    "message": "Invalid parameter: 'response_format' of type 'json_schema' is "
                    "not supported with this model.",
                    "param": "response_format",
                }
            },
            "max_tokens",
            FormatRefusal(),
        ),
        ({"error": 'model "qwen" not found, try pulling it first'}, "max_tokens", OtherRefusal()),
        ("not even JSON", "max_tokens", OtherRefusal()),
    ],
)
def test_refusals(body: object, sent: str, refusal: Refusal) -> None:
    assert classify(ErrorBody.of(body), sent_token_param=sent) == refusal


def test_the_error_object_alone_as_the_sdk_passes_it() -> None:
    # The openai SDK hands over the "error" object itself, not the whole body.
    body = ErrorBody.of(OPENAI_MAX_TOKENS["error"])
    assert body.param == "max_tokens"
    assert classify(body, sent_token_param="max_tokens") == ParameterRefused("max_tokens")
