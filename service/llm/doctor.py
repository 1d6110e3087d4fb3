"""`tutor doctor`: call the configured model once, the way Tutor will, and say what works.

A learner's first question should not be the first time anyone finds out that the
server is down, that its context is 4k, or that it refuses `max_tokens`. Each check
goes through the same code as a learner's request (service/llm/openai_compatible.py), so
what the doctor learns is what Tutor would learn, and nothing is written to the database
(the model is built without listeners).
"""

from __future__ import annotations

import time
import uuid
from dataclasses import asdict, dataclass, field
from typing import get_args

import openai
from pydantic import BaseModel

from prompts import Prompt
from service.config import LLMSettings, Purpose
from service.llm.budget import Budget
from service.llm.errors import LLMFailure
from service.llm.model import Call
from service.llm.openai_compatible import OpenAICompatibleModel
from service.llm.sending import describe_endpoint
from service.llm.tokens import ChatMessage

_PROMPT = Prompt(name="doctor", version=1, description="tutor doctor's checks", body="")
_NOBODY = uuid.UUID(int=0)


class _Word(BaseModel):
    word: str


@dataclass
class ModelReport:
    model: str
    purposes: list[str]
    context_tokens: int | None = None
    context_source: str = "not said by the server"
    budget: dict[str, int] = field(default_factory=dict)
    token_param: str = ""
    streaming: str = ""
    first_token_ms: int | None = None
    structured_mode: str = ""
    problems: list[str] = field(default_factory=list)


@dataclass
class Report:
    endpoint: str
    configured: bool
    reachable: bool = False
    listed_models: list[str] = field(default_factory=list)
    models: list[ModelReport] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)

    @property
    def ready(self) -> bool:
        return (
            self.configured
            and self.reachable
            and not self.problems
            and not any(model.problems for model in self.models)
        )

    def as_dict(self) -> dict[str, object]:
        return {**asdict(self), "ready": self.ready}


async def examine(settings: LLMSettings) -> Report:
    report = Report(endpoint=describe_endpoint(settings), configured=settings.configured)
    if not settings.configured:
        report.problems.append(
            "No model is configured: set TUTOR_LLM_MODEL, and TUTOR_LLM_BASE_URL for a local "
            "server or TUTOR_LLM_API_KEY for OpenAI."
        )
        return report
    llm = OpenAICompatibleModel(settings)  # no listeners: nothing is recorded
    try:
        await _list_models(llm, report)
        if report.reachable:
            for model, purposes in _models(settings).items():
                report.models.append(await _examine_model(llm, model, purposes))
    finally:
        await llm.close()
    return report


def _models(settings: LLMSettings) -> dict[str, list[str]]:
    models: dict[str, list[str]] = {}
    for purpose in get_args(Purpose):
        model = settings.model_for(purpose)
        if model is not None:
            models.setdefault(model, []).append(purpose)
    return models


async def _list_models(llm: OpenAICompatibleModel, report: Report) -> None:
    client = llm.client
    assert client is not None
    try:
        listing = await client.models.list(timeout=llm.settings.connect_timeout + 5)
    except openai.APIStatusError:
        report.reachable = True  # it answered; some servers just have no model list
        return
    except openai.APIConnectionError as exc:
        report.problems.append(f"The endpoint does not answer: {exc.__cause__ or exc}.")
        return
    report.reachable = True
    report.listed_models = [entry.id for entry in listing.data]


async def _examine_model(
    llm: OpenAICompatibleModel, model: str, purposes: list[str]
) -> ModelReport:
    found = ModelReport(model=model, purposes=purposes)
    purpose: Purpose = purposes[0]  # type: ignore[assignment]
    await llm.budget(purpose)  # asks the server its context, as a learner's request would
    await _stream(llm, purpose, found)
    await _structured(llm, purpose, found)
    endpoint = llm.endpoint(purpose)
    assert endpoint is not None
    if endpoint.context is not None:
        found.context_tokens = endpoint.context.tokens
        found.context_source = endpoint.context.source
    budget = Budget.of(llm.settings, endpoint)  # after the calls: the measured ratio
    found.budget = {"context": budget.context, "answer": budget.output, "passage": budget.passage}
    found.token_param = endpoint.token_param
    return found


def _call(purpose: Purpose, instruction: str, question: str) -> Call:
    messages = [ChatMessage.of("system", instruction), ChatMessage.of("user", question)]
    return Call(learner_id=_NOBODY, purpose=purpose, prompt=_PROMPT, messages=messages)


async def _stream(llm: OpenAICompatibleModel, purpose: Purpose, found: ModelReport) -> None:
    call = _call(purpose, "You answer in one short sentence.", "What does a tutor do?")
    started = time.monotonic()
    try:
        stream = await llm.stream(call)
        async for _ in stream:
            if found.first_token_ms is None:
                found.first_token_ms = round((time.monotonic() - started) * 1000)
    except LLMFailure as failure:
        found.streaming = "fails"
        found.problems.append(f"A streamed answer: {failure.code}: {failure.message}")
        return
    found.streaming = "works" + (", cut at its token limit" if stream.truncated else "")
    if stream.usage.estimated:
        found.streaming += "; the server reports no usage (Tutor estimates it)"


async def _structured(llm: OpenAICompatibleModel, purpose: Purpose, found: ModelReport) -> None:
    call = _call(purpose, "You answer with one English word.", "Name a fruit.")
    try:
        await llm.structured(call, _Word)
    except LLMFailure as failure:
        found.structured_mode = "fails"
        found.problems.append(f"Structured output: {failure.code}: {failure.message}")
        return
    endpoint = llm.endpoint(purpose)
    assert endpoint is not None
    found.structured_mode = endpoint.structured_mode


def render(report: Report) -> str:
    lines = [f"Model endpoint  {report.endpoint}"]
    if report.listed_models:
        lines.append(f"  lists         {', '.join(report.listed_models[:8])}")
    for model in report.models:
        lines += [
            f"Model {model.model}  (for {', '.join(model.purposes)})",
            f"  context       {_context(model)}",
            f"  budgets       prompt + answer {model.budget.get('context')}, answer "
            f"{model.budget.get('answer')}, passage {model.budget.get('passage')} tokens",
            f"  token limit   sent as {model.token_param}",
            f"  streaming     {model.streaming}"
            + (f", first token after {model.first_token_ms} ms" if model.first_token_ms else ""),
            f"  JSON output   {model.structured_mode}",
            *(f"  problem       {problem}" for problem in model.problems),
        ]
    lines += [f"Problem: {problem}" for problem in report.problems]
    lines.append("Ready." if report.ready else "Not ready: see the problems above.")
    return "\n".join(lines)


def _context(model: ModelReport) -> str:
    if model.context_tokens is None:
        return f"{model.context_source} (TUTOR_LLM_CONTEXT_TOKENS or 16000 is assumed)"
    return f"{model.context_tokens} tokens ({model.context_source})"
