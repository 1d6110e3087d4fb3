"""Distillation: a session becomes flashcard drafts the learner accepts or rejects.

The model reads the session (mistakes found in critiques first) and proposes cards as
structured output; code then checks quality and drops what the learner already has.

What the model sees, in this order of priority for the token budget: the transcript
(newest messages first), with each critique followed by the fixes for the learner's
mistakes, which the critique's own text keeps back from the learner; the cards already
made from this session; then the learner's related cards from other sessions
(`related.py`), as many as the room left allows, so that it proposes no near-repeats.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Sequence
from datetime import datetime
from functools import cache
from typing import Annotated, Any, Literal

from pydantic import BaseModel, Field, StringConstraints, create_model
from sqlalchemy.ext.asyncio import AsyncSession

import prompts
from service.answers import Answer, Ending
from service.cards.models import CardKind, CardOrigin, CardPassage, CardStatus
from service.cards.queries import critique_issues, session_card_fronts, session_card_tags
from service.cards.related import related_cards
from service.cards.schemas import clean_tags
from service.cards.service import BatchResult, NewCard, add_batch
from service.db import release_connection
from service.errors import Conflict
from service.learners.models import Learner
from service.llm.blocks import delimit
from service.llm.model import Call, Model
from service.llm.structured import schema_instruction
from service.llm.tokens import ChatMessage, count_chat, count_text
from service.sessions.models import Kind, Message, MessageStatus, PaperPassage, Role
from service.sessions.passages import latest_passages
from service.sessions.service import get_session
from service.sources.models import Source

_LABELS = {
    Kind.passage: "Passage from the paper",
    Kind.question: "The learner asked",
    Kind.explanation: "The tutor explained",
    Kind.answer: "The tutor answered",
    Kind.attempt: "The learner's own explanation",
    Kind.critique: "The critique of it",
}


class NothingToDistill(Conflict):
    code = "nothing_to_distill"

    def __init__(self) -> None:
        super().__init__("This session has no finished exchange to make cards from yet.")


# A card's side is a question or a short answer; a grammar-constrained model (llama.cpp,
# vLLM, Ollama) is held to the limit as it writes, so a small one cannot ramble on.
Side = Annotated[str, StringConstraints(strip_whitespace=True, max_length=400)]
Tag = Annotated[str, StringConstraints(max_length=30)]


class DraftCard(BaseModel):
    # Empty sides are allowed here so they reach the quality check and get reported.
    front: Side
    back: Side = ""
    kind: Literal["basic", "cloze"] = "basic"
    tags: Annotated[list[Tag], Field(max_length=5)]  # the prompt asks for two to four


class DistilledCards(BaseModel):
    cards: Annotated[list[DraftCard], Field(max_length=30)]


@cache
def cards_asked_for(max_cards: int) -> type[DistilledCards]:
    """The batch whose schema asks for at most `max_cards` (a model held to the schema
    stops there); one that wrote more anyway still validates, and the rest is dropped."""
    cards = Field(max_length=30, json_schema_extra={"maxItems": max_cards})
    return create_model(
        "DistilledCards", __base__=DistilledCards, cards=(Annotated[list[DraftCard], cards], ...)
    )


def source_tag(title: str) -> str:
    """ "Attention Is All You Need" → "attention-is-all-you-need"."""
    return re.sub(r"[^a-z0-9]+", "-", title.casefold()).strip("-")[:100]


FIX_LINE = "Fix for the learner's mistake: "
RELATED_HEADING = "Related cards the learner already has (from other sessions):"


async def _fixes_by_critique_message(
    db: AsyncSession, *, session_id: uuid.UUID
) -> dict[uuid.UUID, list[str]]:
    """The fixes of each critique's issues, by the id of the critique's message."""
    rows = await critique_issues(db, session_id=session_id)
    return {message_id: _fixes(issues) for message_id, issues in rows}


def _fixes(issues: list[dict[str, Any]]) -> list[str]:
    # Critiques stored before issues had a fix (they name a `severity`) simply have none.
    found = (issue.get("fix") for issue in issues if isinstance(issue, dict))
    return [fix.strip() for fix in found if isinstance(fix, str) and fix.strip()]


def _transcript_entries(
    messages: list[Message], fixes: dict[uuid.UUID, list[str]]
) -> list[tuple[int, str]]:
    """(tokens, text) for each finished message, in order; critiques with their fixes."""
    usable = [m for m in messages if m.role is Role.learner or m.status is MessageStatus.complete]
    entries = []
    for message in usable:
        if not message.content:
            continue
        text = f"{_LABELS[message.kind]}:\n{message.content}"
        tokens = message.token_count + 8
        # Only critique messages have fixes: the dict is keyed by their ids.
        fix_lines = "".join(f"\n{FIX_LINE}{fix}" for fix in fixes.get(message.id, []))
        if fix_lines:
            text += fix_lines
            tokens += count_text(fix_lines)
        entries.append((tokens, text))
    return entries


def _fit_transcript(entries: list[tuple[int, str]], budget: int) -> tuple[str, int]:
    """The newest entries that fit, and their tokens; a session's end holds its conclusions."""
    kept: list[str] = []
    used = 0
    for tokens, text in reversed(entries):
        if used + tokens > budget:
            break
        kept.append(text)
        used += tokens
    return "\n\n".join(reversed(kept)), used


def _cards_block(heading: str, fronts: Sequence[str], nonce: str) -> str:
    listed = "\n".join(f"- {front}" for front in fronts) or "(none yet)"
    return f"{heading}\n\n" + delimit("EXISTING CARDS", listed, nonce)


def _related_block(fronts: list[str], room: int, nonce: str) -> str:
    """The most related fronts that fit in `room` tokens, under their heading; or nothing."""
    # Counted whole for each length tried: it is `MAX_RELATED_CARDS` short lines at most.
    for count in range(len(fronts), 0, -1):
        block = "\n\n" + _cards_block(RELATED_HEADING, fronts[:count], nonce)
        if count_text(block) <= room:
            return block
    return ""


async def _build_call(
    db: AsyncSession,
    *,
    llm: Model,
    learner: Learner,
    messages: list[Message],
    session_id: uuid.UUID,
    nonce: str,
    source: Source | None,
    max_cards: int,
) -> Call:
    prompt = prompts.load("distill")
    system = ChatMessage.of("system", prompt.render(max_cards=str(max_cards)))
    existing = await session_card_fronts(db, session_id=session_id)
    context = f"Source: {source.title}\n\n" if source else ""
    made_block = _cards_block("Cards already made from this session:", existing, nonce)
    budget = await llm.budget("distill")
    # What is left for the transcript (the schema instruction joins the system prompt).
    room = (
        budget.prompt
        - count_chat([system, schema_instruction(cards_asked_for(max_cards))])
        - count_text(context + made_block)
        - 200
    )
    fixes = await _fixes_by_critique_message(db, session_id=session_id)
    transcript, used = _fit_transcript(_transcript_entries(messages, fixes), room)
    tags = await session_card_tags(db, session_id=session_id)
    if source:
        tags.add(source_tag(source.title))
    related = await related_cards(
        db, learner_id=learner.id, session_id=session_id, tags=tags, transcript=transcript
    )
    user = ChatMessage.of(
        "user",
        f"{context}Session transcript:\n\n{delimit('TRANSCRIPT', transcript, nonce)}\n\n"
        f"{made_block}{_related_block(related, room - used, nonce)}",
    )
    return Call(learner_id=learner.id, purpose="distill", prompt=prompt, messages=[system, user])


async def _home_passage(
    db: AsyncSession, session_id: uuid.UUID, source_id: uuid.UUID | None
) -> PaperPassage | None:
    """The session's latest passage of a paper, which its new cards point back to (none
    if the session has been pointed at another source since)."""
    passage = (await latest_passages(db, session_ids=[session_id])).get(session_id)
    return passage if passage is not None and passage.source_id == source_id else None


def card_passage(passage: PaperPassage) -> CardPassage:
    """A card's snapshot of the passage it was distilled from."""
    return CardPassage(
        source_id=passage.source_id,
        first_block=passage.first_block,
        last_block=passage.last_block,
        paper_title=passage.paper_title,
        section_number=passage.section_number,
        section_heading=passage.section_heading,
        page=passage.page,
    )


async def distill_session(
    db: AsyncSession,
    *,
    llm: Model,
    learner: Learner,
    session_id: uuid.UUID,
    max_cards: int,
    now: datetime,
) -> BatchResult:
    session = await get_session(db, learner=learner, session_id=session_id, with_messages=True)
    messages = list(session.messages)
    if not any(m.role is Role.tutor and m.status is MessageStatus.complete for m in messages):
        raise NothingToDistill()
    source = await db.get(Source, session.source_id) if session.source_id else None
    passage = await _home_passage(db, session.id, session.source_id)

    async def prepare() -> Call:
        call = await _build_call(
            db,
            llm=llm,
            learner=learner,
            messages=messages,
            session_id=session.id,
            nonce=session.prompt_nonce,
            source=source,
            max_cards=max_cards,
        )
        await release_connection(db)
        return call

    async def keep(ending: Ending) -> BatchResult | None:
        if ending.error is not None:
            return None  # the session is stored; nothing was made from it
        proposed = ending.value.cards[:max_cards]
        extra_tags = [source_tag(source.title)] if source else []
        drafts = [
            NewCard(
                front=card.front,
                back=card.back,
                kind=CardKind(card.kind),
                tags=clean_tags([*extra_tags, *card.tags]),
            )
            for card in proposed
        ]
        result = await add_batch(
            db,
            learner=learner,
            drafts=drafts,
            status=CardStatus.draft,
            origin=CardOrigin.distilled,
            session_id=session.id,
            source_id=session.source_id,
            now=now,
        )
        if passage is not None:
            for card in result.cards:
                card.passage = card_passage(passage)
        # What distillation has seen: auto-distillation waits for content newer than this.
        session.distilled_position = messages[-1].position
        await db.commit()
        return result

    made = await Answer(llm, keep=keep).structured(prepare, cards_asked_for(max_cards))
    assert made is not None  # a failure raised
    return made
