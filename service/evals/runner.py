"""Run scenarios through Tutor's own API, in process, against the configured model.

Each run gets a fresh SQLite database in a scratch folder, each scenario a new learner,
and asks the way the browser does: sessions, explain, follow-ups, critiques,
distillation. So what is
measured is what a learner would see, prompts, grounding and card checks included. A
scenario whose model call fails is an outcome too (its error code is kept): a model that
cannot produce a critique is part of what the evaluation measures.
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import quote

import httpx
from fastapi import FastAPI

import prompts
from service.app import create_app
from service.config import Settings
from service.critiques.service import concept_key
from service.db import Database
from service.evals.promptsets import PromptSet
from service.evals.scenarios import (
    AdaptScenario,
    CheckScenario,
    CritiqueScenario,
    DistillScenario,
    ExplainScenario,
    FollowUpScenario,
    History,
    PastCritique,
    Scenario,
    TranscriptMessage,
)
from service.learners.models import Learner
from service.learners.service import create_learner
from service.llm.tokens import count_text
from service.migrations import upgrade_async
from service.sessions.messages import append_message
from service.sessions.models import Critique, Kind, MessageStatus, Role, Verdict
from service.sessions.service import get_session

_VERDICT_OF_SCORE = dict.fromkeys((0, 1), Verdict.wrong) | dict.fromkeys((2, 3), Verdict.shaky)
_VERDICT_OF_SCORE |= dict.fromkeys((4, 5), Verdict.solid)

# Model calls can take minutes on a small local server; the API call waits for them.
_REQUEST_TIMEOUT = httpx.Timeout(900.0)


@dataclass
class Answer:
    """One tutor message as the learner got it (text empty when it failed)."""

    text: str
    status: str
    error: str | None = None


@dataclass
class Outcome:
    """What Tutor produced for one scenario."""

    scenario_id: str
    category: str
    kind: str
    answers: list[Answer] = field(default_factory=list)
    critique: dict[str, Any] | None = None
    check: dict[str, Any] | None = None
    cards: list[dict[str, Any]] = field(default_factory=list)
    error: str | None = None
    # For a learner with a history: the same request's answer to a new learner.
    new_learner: Answer | None = None

    def texts(self) -> list[str]:
        """Everything the tutor wrote, for checks that look at all of it (the learner's
        own words, which the API sends back beside it, left out)."""
        found = [answer.text for answer in self.answers]
        for graded in (self.critique, self.check):
            if graded is not None:
                found.append(_all_text(graded))
        found.extend(f"{card['front']}\n{card['back']}" for card in self.cards)
        return found


# Fields of a critique or a check that hold the learner's words, not the tutor's: an
# injected instruction in an explanation is not obeyed by sending the explanation back.
_LEARNERS_WORDS = frozenset({"concept", "explanation", "answer", "quote"})


def _all_text(value: object) -> str:
    if isinstance(value, str):
        return value
    if isinstance(value, dict):
        return "\n".join(
            _all_text(item) for key, item in value.items() if key not in _LEARNERS_WORDS
        )
    if isinstance(value, list):
        return "\n".join(_all_text(item) for item in value)
    return ""


def eval_settings(settings: Settings, scratch: Path) -> Settings:
    """The user's model settings, with a database of the run's own and no limits (an
    evaluation makes more model calls in a minute than a learner may)."""
    return settings.model_copy(
        update={
            "data_dir": scratch,
            "database_url": None,
            "redis_url": None,
            "rate_limit_per_minute": 0,
            "daily_token_quota": 0,
            "max_concurrent_streams": 0,
        }
    )


@asynccontextmanager
async def running_tutor(settings: Settings, prompt_set: PromptSet) -> AsyncIterator[Tutor]:
    """Tutor with `prompt_set`'s prompts, migrated, and a client signed in as a learner."""
    prompts.use_directory(prompt_set.directory)
    await upgrade_async(settings.database)
    app = create_app(settings)
    try:
        async with app.router.lifespan_context(app), signed_in(app) as tutor:
            yield tutor
    finally:
        prompts.use_directory(None)


@asynccontextmanager
async def signed_in(app: FastAPI) -> AsyncIterator[Tutor]:
    """A client of `app` signed in as a new learner."""
    database: Database = app.state.database
    async with database.sessionmaker() as db:
        issued = await create_learner(db, name=f"eval-{uuid.uuid4().hex[:8]}")
    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
    async with httpx.AsyncClient(
        transport=transport,
        base_url="http://tutor.eval",
        headers={"Authorization": f"Bearer {issued.key}"},
        timeout=_REQUEST_TIMEOUT,
    ) as client:
        yield Tutor(app, client, issued.learner.id)


@dataclass
class Tutor:
    app: FastAPI
    client: httpx.AsyncClient
    learner_id: uuid.UUID

    sources: dict[str, str] = field(default_factory=dict)

    async def source(self, paper: str) -> str:
        """The reading-queue entry of the paper, as a learner would have added it."""
        if paper not in self.sources:
            response = await self.client.post("/v1/sources", json={"title": paper[:300]})
            response.raise_for_status()
            self.sources[paper] = response.json()["id"]
        return self.sources[paper]

    async def new_session(self, scenario: Scenario) -> str:
        body = {"title": scenario.title[:200], "source_id": await self.source(scenario.paper)}
        response = await self.client.post("/v1/sessions", json=body)
        response.raise_for_status()
        session_id: str = response.json()["id"]
        return session_id

    async def answer(self, path: str, body: dict[str, Any]) -> Answer:
        response = await self.client.post(path, json=body)
        payload = response.json()
        if response.is_success:
            message = payload["message"]
            return Answer(message["content"], message["status"])
        return Answer("", "failed", payload["error"]["code"])

    async def run(self, category: str, scenario: Scenario) -> Outcome:
        """The scenario, played by a new learner: what one scenario leaves behind (its
        critiques, and so what Tutor knows about its learner) never reaches another."""
        async with signed_in(self.app) as learner:
            return await learner.play(category, scenario)

    async def play(self, category: str, scenario: Scenario) -> Outcome:
        outcome = Outcome(scenario.id, category, scenario.kind)
        if isinstance(scenario, AdaptScenario):
            await self._seed(scenario.history)
        session_id = await self.new_session(scenario)
        if isinstance(scenario, AdaptScenario):
            await self._explain(session_id, scenario, outcome)
            async with signed_in(self.app) as newcomer:
                session_id = await newcomer.new_session(scenario)
                alone = Outcome(scenario.id, category, scenario.kind)
                await newcomer._explain(session_id, scenario, alone)
                outcome.new_learner = alone.answers[0]
        elif isinstance(scenario, ExplainScenario | FollowUpScenario):
            await self._explain(session_id, scenario, outcome)
        elif isinstance(scenario, CritiqueScenario):
            await self._critique(session_id, scenario, outcome)
        elif isinstance(scenario, CheckScenario):
            await self._check(session_id, scenario, outcome)
        elif isinstance(scenario, DistillScenario):
            await self._distill(session_id, scenario, outcome)
        else:  # played twice, pasted and picked: paper_runner.play_paper
            raise TypeError(f"{scenario.id} is a paper scenario")
        return outcome

    async def _explain(
        self,
        session_id: str,
        scenario: ExplainScenario | FollowUpScenario | AdaptScenario,
        outcome: Outcome,
    ) -> None:
        body: dict[str, Any] = {"passage": scenario.passage, "level": scenario.level.value}
        if scenario.question:
            body["question"] = scenario.question
        first = await self.answer(f"/v1/sessions/{session_id}/explain", body)
        outcome.answers.append(first)
        if not isinstance(scenario, FollowUpScenario) or first.error:
            return
        for followup in scenario.followups:
            ask: dict[str, Any] = {"content": followup.question}
            if followup.level is not None:
                ask["level"] = followup.level.value
            answer = await self.answer(f"/v1/sessions/{session_id}/messages", ask)
            outcome.answers.append(answer)
            if answer.error:
                return

    async def _critique(
        self, session_id: str, scenario: CritiqueScenario, outcome: Outcome
    ) -> None:
        body: dict[str, Any] = {"concept": scenario.concept, "explanation": scenario.explanation}
        if scenario.passage:
            body["passage"] = scenario.passage
        response = await self.client.post(f"/v1/sessions/{session_id}/critiques", json=body)
        payload = response.json()
        if not response.is_success:
            outcome.error = payload["error"]["code"]
            return
        outcome.critique = payload
        shown = await self.client.get(f"/v1/sessions/{session_id}")
        messages = {m["id"]: m for m in shown.json()["messages"]}
        message = messages[payload["message_id"]]
        outcome.answers.append(Answer(message["content"], message["status"]))

    async def _check(self, session_id: str, scenario: CheckScenario, outcome: Outcome) -> None:
        passage = TranscriptMessage(role="learner", kind="passage", content=scenario.passage)
        explained = TranscriptMessage(
            role="tutor", kind="explanation", level=scenario.level, content=scenario.explanation
        )
        (_, message_id) = await self._store_messages(session_id, [passage, explained])
        response = await self.client.post(
            f"/v1/sessions/{session_id}/messages/{message_id}/check",
            json={"answer": scenario.answer},
        )
        payload = response.json()
        if not response.is_success:
            outcome.error = payload["error"]["code"]
            return
        outcome.check = payload

    async def _distill(self, session_id: str, scenario: DistillScenario, outcome: Outcome) -> None:
        await self._store_messages(session_id, scenario.transcript)
        response = await self.client.post(
            f"/v1/sessions/{session_id}/distill", json={"max_cards": scenario.max_cards}
        )
        payload = response.json()
        if not response.is_success:
            outcome.error = payload["error"]["code"]
            return
        outcome.cards = [
            {key: card[key] for key in ("front", "back", "kind", "tags", "quality_flags")}
            for card in payload["cards"]
        ]

    async def _seed(self, history: History) -> None:
        """The learner's past: their critiqued explanations, each in a session of its
        own as it would have happened, and the concepts they marked known."""
        for past in history.critiques:
            for _ in range(past.times):
                response = await self.client.post("/v1/sessions", json={"title": past.concept})
                response.raise_for_status()
                await self._store_critique(response.json()["id"], past)
        for name in history.known:
            response = await self.client.patch(
                f"/v1/me/knowledge/concepts/{quote(name, safe='')}", json={"mark": "known"}
            )
            response.raise_for_status()

    async def _store_critique(self, session_id: str, past: PastCritique) -> None:
        attempt = TranscriptMessage(
            role="learner", kind="attempt", content=f"My explanation of {past.concept}."
        )
        written = TranscriptMessage(role="tutor", kind="critique", content="A critique.")
        attempt_id, critique_id = await self._store_messages(session_id, [attempt, written])
        issues = [
            {"type": "misconception", "quote": None, "problem": mistake, "hint": "", "fix": ""}
            for mistake in past.mistakes
        ]
        database: Database = self.app.state.database
        async with database.sessionmaker() as db:
            db.add(
                Critique(
                    session_id=uuid.UUID(session_id),
                    attempt_message_id=uuid.UUID(attempt_id),
                    critique_message_id=uuid.UUID(critique_id),
                    concept=past.concept,
                    concept_key=concept_key(past.concept),
                    attempt=1,
                    explanation=attempt.content,
                    verdict=_VERDICT_OF_SCORE[past.score],
                    score=past.score,
                    issues=issues,
                    questions=[],
                )
            )
            await db.commit()

    async def _store_messages(
        self, session_id: str, transcript: Sequence[TranscriptMessage]
    ) -> list[str]:
        """A session as if it had happened: its messages, stored as the API stores them
        (a transcript is material here, not something to ask the model). Their ids."""
        database: Database = self.app.state.database
        async with database.sessionmaker() as db:
            learner = await db.get_one(Learner, self.learner_id)
            session = await get_session(
                db, learner=learner, session_id=uuid.UUID(session_id), with_messages=True
            )
            stored = [
                append_message(
                    session,
                    role=Role(message.role),
                    kind=Kind(message.kind),
                    level=message.level,
                    content=message.content,
                    token_count=count_text(message.content),
                    status=MessageStatus.complete,
                )
                for message in transcript
            ]
            await db.commit()
            return [str(message.id) for message in stored]
