"""The LLM judge: a model on the user's own endpoint grading what Tutor wrote.

Three questions, each a structured call (purpose `judge`, so `TUTOR_LLM_MODEL_JUDGE` can
name a stronger model than the tutor's): feedback on MRBench's dimensions (0 No, 1 To
some extent, 2 Yes), explanations on a LearnLM-style rubric (1-5), and which of two
replies teaches better. A pairwise verdict is asked twice with the replies swapped, and
counts only when both orders agree: judges favour a position.

A judge is an instrument to calibrate, not an oracle: `agreement` measures it against a
small hand-labelled set, and the report prints that next to its numbers.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Annotated, Literal, TypeVar

from pydantic import BaseModel, Field

import prompts
from service.llm.blocks import delimit, new_nonce
from service.llm.errors import LLMFailure
from service.llm.model import Call, Model
from service.llm.tokens import ChatMessage

Trit = Annotated[int, Field(ge=0, le=2)]
Grade = Annotated[int, Field(ge=1, le=5)]


class FeedbackJudgement(BaseModel):
    mistake_identification: Trit
    mistake_location: Trit
    revealing_of_answer: Trit
    providing_guidance: Trit
    actionability: Trit
    coherence: Trit
    tone: Trit
    human_likeness: Trit


class ExplanationJudgement(BaseModel):
    active_learning: Grade
    cognitive_load: Grade
    adapts_to_level: Grade
    curiosity: Grade
    metacognition: Grade
    accuracy: Grade


class PairwiseJudgement(BaseModel):
    reason: Annotated[str, Field(max_length=400)]
    winner: Literal["A", "B", "tie"]


Verdict = Literal["A", "B", "tie", "inconsistent"]
M = TypeVar("M", bound=BaseModel)


@dataclass(frozen=True)
class Judge:
    llm: Model
    learner_id: uuid.UUID

    async def _ask(self, name: str, material: str, schema: type[M]) -> M | None:
        """The judgement, or None when the judge could not give one (it is reported as
        missing, never as a grade)."""
        prompt = prompts.load(name)
        call = Call(
            learner_id=self.learner_id,
            purpose="judge",
            prompt=prompt,
            messages=[ChatMessage.of("system", prompt.render()), ChatMessage.of("user", material)],
        )
        try:
            return (await self.llm.structured(call, schema)).value
        except LLMFailure:
            return None

    async def feedback(self, explanation: str, feedback: str) -> FeedbackJudgement | None:
        nonce = new_nonce()
        material = (
            "The learner's explanation:\n\n"
            + delimit("EXPLANATION", explanation, nonce)
            + "\n\nThe tutor's feedback:\n\n"
            + delimit("FEEDBACK", feedback, nonce)
        )
        return await self._ask("judge-feedback", material, FeedbackJudgement)

    async def explanation(
        self, passage: str, level: str, explanation: str
    ) -> ExplanationJudgement | None:
        nonce = new_nonce()
        material = (
            f"Requested depth: {level}\n\n"
            + delimit("PASSAGE", passage, nonce)
            + "\n\nThe tutor's explanation:\n\n"
            + delimit("EXPLANATION", explanation, nonce)
        )
        return await self._ask("judge-explanation", material, ExplanationJudgement)

    async def _winner(self, request: str, first: str, second: str) -> str | None:
        nonce = new_nonce()
        material = (
            delimit("REQUEST", request, nonce)
            + "\n\nReply A:\n\n"
            + delimit("REPLY A", first, nonce)
            + "\n\nReply B:\n\n"
            + delimit("REPLY B", second, nonce)
        )
        judgement = await self._ask("judge-pairwise", material, PairwiseJudgement)
        return judgement.winner if judgement else None

    async def pairwise(self, request: str, reply_a: str, reply_b: str) -> Verdict | None:
        """A, B or tie when both orders agree; `inconsistent` when they do not."""
        straight = await self._winner(request, reply_a, reply_b)
        swapped = await self._winner(request, reply_b, reply_a)
        if straight is None or swapped is None:
            return None
        unswapped = {"A": "B", "B": "A", "tie": "tie"}[swapped]
        if straight == unswapped:
            return straight  # type: ignore[return-value]
        return "inconsistent"
