"""What Tutor has learnt about one model on one endpoint, for the life of the process.

Servers differ in ways nobody should have to configure: the context they really have,
the name of the output-token parameter, the JSON forms they accept, how their tokenizer
counts against ours. Each is learnt from the server itself — its description of itself,
the usage it reports, or its refusal of a request — and remembered per base URL and
model, never for the whole process: two models behind one URL may differ.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Literal

from service.llm.structured import FALLBACK_ORDER, StructuredMode

TokenParam = Literal["max_tokens", "max_completion_tokens"]
# What most servers call the answer's token limit, and what OpenAI's API wants now.
COMMON_LIMIT: TokenParam = "max_tokens"
OPENAI_LIMIT: TokenParam = "max_completion_tokens"

# How long a fallback to a weaker JSON form holds before the stronger one is tried
# again: a server upgraded, or a refusal that was really a passing fault, heals itself.
STRUCTURED_RETRY_SECONDS = 600.0
# Server tokens per token we count, until the server reports usage. Our count is
# OpenAI's cl100k vocabulary; other models' tokenizers split text more finely, and a
# prompt that fits by our count but not by theirs is refused whole.
ESTIMATED_TOKEN_RATIO = 1.2
_MAX_TOKEN_RATIO = 3.0


@dataclass(frozen=True)
class ContextSize:
    tokens: int
    source: str  # where it was read: "llama.cpp /props", "the server's refusal", ...


@dataclass
class Endpoint:
    """One model on one endpoint: mutable, shared by every call to that model."""

    model: str
    # Whether our token counts are the model's own (OpenAI's models) or an estimate.
    counts_exact: bool
    context: ContextSize | None = None
    # When the server was last asked for its context (None: never).
    probed_at: float | None = None
    token_param: TokenParam = COMMON_LIMIT
    # False when a setting names the parameter: it is sent as set, refused or not.
    token_param_switchable: bool = True
    # False once the server refused to stream this model: answers then come whole.
    streams: bool = True
    # Whether JSON schemas carry string lengths (OpenAI's strict mode refuses them).
    schema_lengths: bool = True
    _fallback: StructuredMode | None = None
    _fallback_at: float = 0.0
    _token_ratio: float | None = field(default=None)

    @property
    def token_ratio(self) -> float:
        """Server tokens per counted token: measured, or a cautious guess. It only grows,
        so budgets settle after the first answers instead of moving turn by turn (a
        moving budget would move the history's cut, and the prompt cache with it)."""
        if self._token_ratio is not None:
            return self._token_ratio
        return 1.0 if self.counts_exact else ESTIMATED_TOKEN_RATIO

    def observe_usage(self, *, counted: int, reported: int) -> None:
        """The server's prompt-token count for a prompt we counted as `counted`."""
        if counted <= 0 or reported <= 0:
            return
        observed = min(reported / counted, _MAX_TOKEN_RATIO)
        if self._token_ratio is None or observed > self._token_ratio:
            self._token_ratio = max(observed, 1.0)

    def learn_context(self, tokens: int, source: str) -> None:
        self.context = ContextSize(tokens, source)

    def structured_modes(
        self, configured: StructuredMode | Literal["auto"]
    ) -> tuple[StructuredMode, ...]:
        """The JSON forms to try, strongest first: all of them from the last fallback on."""
        if configured != "auto":
            return (configured,)
        if (
            self._fallback is None
            or time.monotonic() - self._fallback_at > STRUCTURED_RETRY_SECONDS
        ):
            return FALLBACK_ORDER
        return FALLBACK_ORDER[FALLBACK_ORDER.index(self._fallback) :]

    def structured_refused(self, mode: StructuredMode) -> None:
        following = FALLBACK_ORDER.index(mode) + 1
        if following < len(FALLBACK_ORDER):
            self._fallback = FALLBACK_ORDER[following]
            self._fallback_at = time.monotonic()

    def structured_worked(self, mode: StructuredMode) -> None:
        if mode == FALLBACK_ORDER[0]:
            self._fallback = None  # the stronger form works (again)

    @property
    def structured_mode(self) -> StructuredMode:
        """The form the next structured call starts with."""
        return self._fallback or FALLBACK_ORDER[0]


class Endpoints:
    """Every model Tutor talks to on the configured endpoint, each learnt once."""

    def __init__(self, base_url: str | None, token_param: TokenParam | Literal["auto"]) -> None:
        self._base_url = base_url
        self._configured_limit = token_param
        self._known: dict[str, Endpoint] = {}

    def of(self, model: str, *, counts_exact: bool) -> Endpoint:
        endpoint = self._known.get(model)
        if endpoint is None:
            endpoint = Endpoint(model, counts_exact=counts_exact)
            if self._configured_limit != "auto":
                endpoint.token_param = self._configured_limit
                endpoint.token_param_switchable = False
            elif self._base_url is None:
                # OpenAI's own API takes max_completion_tokens for every model, and its
                # reasoning models take nothing else.
                endpoint.token_param = OPENAI_LIMIT
            if self._base_url is None:
                endpoint.schema_lengths = False
            self._known[model] = endpoint
        return endpoint
