"""An answer's life (service/answers.py) on the in-process fake model: every way an answer
can end is kept exactly once, with what the learner must not lose."""

from __future__ import annotations

import asyncio
import uuid

import pytest
from pydantic import BaseModel

import prompts
from fakemodel import BreakOff, Fails, FakeModel, Heard, Text
from service.answers import Answer, Ending, Interruption
from service.inflight import InFlight
from service.llm.errors import LLMInterrupted, LLMTimeout, ServerStopping
from service.llm.model import Call
from service.llm.tokens import ChatMessage
from service.sessions.messages import TooManyTokens

ANSWER = "Attention is a weighted average of the values."
CALL = Call(
    learner_id=uuid.uuid4(),
    purpose="explain",
    prompt=prompts.load("tutor"),
    messages=[ChatMessage.of("system", "You tutor."), ChatMessage.of("user", "What is it?")],
)


class Verdict(BaseModel):
    verdict: str


class Kept:
    """A `keep` that remembers every ending it was given."""

    def __init__(self) -> None:
        self.endings: list[Ending] = []

    async def __call__(self, ending: Ending) -> str:
        self.endings.append(ending)
        return f"kept #{len(self.endings)}"

    @property
    def one(self) -> Ending:
        [ending] = self.endings
        return ending


def _answer(model: FakeModel, kept: Kept, in_flight: InFlight | None = None) -> Answer[str]:
    return Answer(model, keep=kept, in_flight=in_flight)


async def test_a_complete_answer_is_kept_once_with_its_text_and_usage() -> None:
    kept = Kept()
    answer = _answer(FakeModel(Text(ANSWER)), kept)
    answer.open(CALL)
    assert await answer.whole() == "kept #1"
    assert (kept.one.status, kept.one.text, kept.one.error) == ("complete", ANSWER, None)
    assert kept.one.usage is not None
    assert await answer.interrupt(Interruption.client_gone) == "kept #1"  # already ended
    assert len(kept.endings) == 1


async def test_a_failure_before_the_first_token_is_kept_as_failed_then_raised() -> None:
    kept = Kept()
    answer = _answer(FakeModel(Fails(LLMTimeout("The model did not answer."))), kept)
    answer.open(CALL)
    with pytest.raises(LLMTimeout):
        await answer.started(within=1)
    assert kept.one.status == "failed"
    assert kept.one.error == ("llm_timeout", "The model did not answer.")


async def test_an_answer_that_breaks_off_keeps_its_text_as_interrupted() -> None:
    kept = Kept()
    answer = _answer(FakeModel(BreakOff(ANSWER, after_pieces=2)), kept)
    answer.open(CALL)
    with pytest.raises(LLMInterrupted):
        await answer.whole()
    assert kept.one.status == "interrupted"
    assert kept.one.text == ANSWER[:8]
    assert kept.one.error is not None
    assert kept.one.error[0] == "llm_interrupted"


async def test_a_client_that_leaves_mid_answer_gets_the_text_so_far_kept() -> None:
    heard = Heard()
    kept = Kept()
    answer = _answer(FakeModel(Text(ANSWER, pause=0.05), listeners=[heard]), kept)
    answer.open(CALL)
    pieces = answer.pieces()
    assert await anext(pieces) == ANSWER[:4]
    await answer.interrupt(Interruption.client_gone)
    await answer.interrupt(Interruption.server_stopped)  # a second cut changes nothing
    assert kept.one.status == "interrupted"
    assert kept.one.text == ANSWER[:4]
    assert kept.one.error == Interruption.client_gone.value
    assert heard.outcomes == ["interrupted"]  # the model was stopped, and told once
    await pieces.aclose()


async def test_the_server_stopping_mid_answer_ends_it_with_what_it_has() -> None:
    kept = Kept()
    answer = _answer(FakeModel(Text(ANSWER, pause=0.2)), kept)
    answer.open(CALL)
    grace_over = asyncio.get_running_loop().create_future()
    asyncio.get_running_loop().call_later(0.05, grace_over.set_result, None)
    with pytest.raises(ServerStopping):
        async for _ in answer.pieces(cut=grace_over):
            pass
    assert kept.one.status == "interrupted"
    assert kept.one.text == ANSWER[:4]
    assert kept.one.error == (ServerStopping.code, ServerStopping().message)


async def test_an_answer_never_read_is_interrupted_without_text() -> None:
    heard = Heard()
    kept = Kept()
    answer = _answer(FakeModel(Text(ANSWER), listeners=[heard]), kept)
    answer.open(CALL)
    await asyncio.sleep(0)  # the stream opens meanwhile
    await answer.interrupt(Interruption.server_stopped)
    assert (kept.one.status, kept.one.text) == ("failed", "")
    assert kept.one.error == Interruption.server_stopped.value
    assert heard.outcomes == ["interrupted"]  # the opened stream was closed unread


async def test_a_structured_answer_is_kept_with_its_value() -> None:
    kept = Kept()
    model = FakeModel(Verdict(verdict="solid"))

    async def prepare() -> Call:
        return CALL

    assert await _answer(model, kept).structured(prepare, Verdict) == "kept #1"
    assert kept.one.status == "complete"
    assert kept.one.value == Verdict(verdict="solid")


async def test_a_call_that_cannot_be_prepared_is_kept_as_a_failure() -> None:
    kept = Kept()
    model = FakeModel()

    async def prepare() -> Call:
        raise TooManyTokens("prompt", "prompt_too_long", 9000, 4000)

    with pytest.raises(TooManyTokens):
        await _answer(model, kept).structured(prepare, Verdict)
    assert kept.one.error is not None
    assert kept.one.error[0] == "prompt_too_long"
    assert model.calls == []  # the model was never asked


async def test_a_structured_answer_cancelled_is_kept_for_a_retry() -> None:
    kept = Kept()
    preparing = asyncio.Event()

    async def prepare() -> Call:
        preparing.set()
        await asyncio.sleep(60)
        return CALL

    in_flight = InFlight(grace_seconds=0)
    task = asyncio.ensure_future(_answer(FakeModel(), kept, in_flight).structured(prepare, Verdict))
    await preparing.wait()
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert kept.one.error == (ServerStopping.code, ServerStopping().message)


async def test_an_answer_given_without_the_model_is_kept_like_any_other() -> None:
    kept = Kept()
    model = FakeModel()
    assert await _answer(model, kept).given(Verdict(verdict="wrong")) == "kept #1"
    assert kept.one.value == Verdict(verdict="wrong")
    assert model.calls == []
