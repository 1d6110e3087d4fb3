"""What can go wrong when talking to the model, as errors a client can act on."""

from __future__ import annotations

from typing import Any

from service.errors import TutorError


class LLMFailure(TutorError):
    """Base for model failures; `outcome` is what the call log records."""

    outcome = "error"


class LLMUnavailable(LLMFailure):
    status_code = 503
    code = "llm_unavailable"
    outcome = "unavailable"

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(
            "No language model is configured: set TUTOR_LLM_MODEL, and TUTOR_LLM_BASE_URL "
            "for a local server (Ollama, vLLM, llama.cpp) or TUTOR_LLM_API_KEY for OpenAI.",
            **kwargs,
        )


class LLMTimeout(LLMFailure):
    status_code = 504
    code = "llm_timeout"
    outcome = "timeout"


class LLMRateLimited(LLMFailure):
    status_code = 429
    code = "llm_rate_limited"
    outcome = "rate_limited"


class LLMError(LLMFailure):
    status_code = 502
    code = "llm_error"


class LLMUnreachable(LLMFailure):
    """No connection: refused, reset or closed before the server sent a byte."""

    status_code = 502
    code = "llm_unreachable"
    outcome = "unreachable"


class FormatRefused(LLMError):
    """The server refused the `response_format` it was sent; a weaker form may work."""

    outcome = "format_refused"


class ContextTooLong(LLMFailure):
    """The server's context is smaller than the prompt plus the answer's token limit."""

    status_code = 413
    code = "context_too_long"
    outcome = "context_too_long"


class LLMInterrupted(LLMFailure):
    """The answer stream broke after it had started; the partial text is kept."""

    status_code = 502
    code = "llm_interrupted"
    outcome = "interrupted"


class LLMBadOutput(LLMFailure):
    status_code = 502
    code = "llm_bad_output"
    outcome = "bad_output"


class ServerStopping(LLMFailure):
    """The server is stopping and the answer's grace period is over."""

    status_code = 503
    code = "server_stopped"
    outcome = "interrupted"

    def __init__(self) -> None:
        super().__init__("The server stopped before the answer ended.")
