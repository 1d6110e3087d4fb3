"""Token budgets that follow the model's real context.

The settings give upper bounds (a 16k context, 1,500-token answers, 6,000-token
passages); a smaller context scales them down together, so a 4k or 8k local model
works without a setting changed. Budgets are in tokens as Tutor counts them; the
server's context is converted with the endpoint's measured token ratio.
"""

from __future__ import annotations

from dataclasses import dataclass

from service.config import LLMSettings
from service.llm.endpoint import Endpoint

# The context assumed when neither the setting nor the server gives one.
DEFAULT_CONTEXT_TOKENS = 16_000
# Shares of a small context: an answer may take a fifth, a pasted passage two fifths,
# which leaves the rest for the system prompt, the session so far and the question.
_OUTPUT_SHARE = 0.2
_PASSAGE_SHARE = 0.4


@dataclass(frozen=True)
class Budget:
    """The token limits of one call to one model."""

    context: int  # the whole prompt plus the answer
    output: int  # one answer: sent to the server as its token limit
    passage: int  # one pasted passage, explanation or message (larger → 413)
    model: str | None  # whose encoding counts the tokens

    @property
    def prompt(self) -> int:
        return self.context - self.output

    @classmethod
    def of(cls, settings: LLMSettings, endpoint: Endpoint | None) -> Budget:
        context = settings.context_tokens or DEFAULT_CONTEXT_TOKENS
        if endpoint is not None and endpoint.context is not None:
            served = int(endpoint.context.tokens / endpoint.token_ratio)
            # The setting caps what the server offers; unset, the server decides.
            context = min(settings.context_tokens or served, served)
        return cls(
            context=context,
            output=min(settings.max_output_tokens, int(context * _OUTPUT_SHARE)),
            passage=min(settings.max_passage_tokens, int(context * _PASSAGE_SHARE)),
            model=endpoint.model if endpoint is not None else None,
        )
