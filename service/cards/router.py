"""/v1/cards and /v1/sessions/{id}/distill: drafts in, accepted cards out."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Query, Response, status

from service.cards import service
from service.cards.distill import NothingToDistill, distill_session
from service.cards.models import CardStatus
from service.cards.schemas import (
    AcceptRequest,
    AcceptResult,
    CardCreate,
    CardOut,
    CardUpdate,
    DistillRequest,
    DistillResult,
)
from service.cards.service import CardNotFound, ClozeWithoutDeletion, InvalidTransition
from service.clock import ClockDep
from service.db import SessionDep
from service.learners.auth import CurrentLearner
from service.limits.service import ModelCallAllowed
from service.llm.model import LLMDep
from service.openapi_docs import (
    JSON_BODY,
    MODEL_CALL,
    PAGED,
    PARAMETERS,
    TEXT_PARAMETERS,
    Refusal,
    error_responses,
)
from service.pagination import CursorParam, Limit, Page
from service.sessions.service import SessionNotFound
from service.sources.service import SourceNotFound

router = APIRouter(tags=["cards"])

_NO_SUCH_CARD = Refusal.of(CardNotFound)
_CLOZE_WITHOUT_DELETION = Refusal.of(
    ClozeWithoutDeletion,
    "It would make an active cloze card without a deletion, which has nothing to review: "
    "write one as `{{c1::answer}}`. A draft may lack one, but cannot be accepted until it "
    "has one.",
)
_INVALID_TRANSITION = Refusal.of(
    InvalidTransition,
    "The card cannot move to that status: drafts are accepted (active), and active cards "
    "suspended and back.",
)


@router.post(
    "/v1/sessions/{session_id}/distill",
    status_code=status.HTTP_201_CREATED,
    operation_id="distillSession",
    summary="Make card drafts from a session",
    responses=error_responses(
        JSON_BODY, Refusal.of(SessionNotFound), Refusal.of(NothingToDistill), MODEL_CALL
    ),
)
async def distill(
    session_id: uuid.UUID,
    learner: CurrentLearner,
    db: SessionDep,
    llm: LLMDep,
    clock: ClockDep,
    _allowed: ModelCallAllowed,
    body: DistillRequest | None = None,
) -> DistillResult:
    """Turn the session into draft cards (at most `max_cards`), for the learner to read
    and accept; duplicates of existing cards and empty ones are skipped, and said so."""
    max_cards = (body or DistillRequest()).max_cards
    result = await distill_session(
        db, llm=llm, learner=learner, session_id=session_id, max_cards=max_cards, now=clock.now()
    )
    return DistillResult(cards=[CardOut.of(c) for c in result.cards], skipped=result.skipped)


@router.get(
    "/v1/cards",
    operation_id="listCards",
    summary="List and search your cards",
    responses=error_responses(PAGED, TEXT_PARAMETERS),
)
async def list_cards(
    learner: CurrentLearner,
    db: SessionDep,
    status: CardStatus | None = None,
    session_id: uuid.UUID | None = None,
    source_id: uuid.UUID | None = None,
    tag: Annotated[str | None, Query(max_length=100)] = None,
    q: Annotated[str | None, Query(max_length=200, description="Search both sides.")] = None,
    limit: Limit = 50,
    cursor: CursorParam = None,
) -> Page[CardOut]:
    """Newest first, a page at a time; every filter given narrows the list: `status`,
    the session or source a card came from, a `tag`, or text `q` on either side."""
    where = service.CardFilter(
        status=status, session_id=session_id, source_id=source_id, tag=tag, q=q
    )
    cards, next_cursor = await service.list_cards(
        db, learner=learner, where=where, cursor=cursor, limit=limit
    )
    return Page(items=[CardOut.of(card) for card in cards], next_cursor=next_cursor)


@router.post(
    "/v1/cards",
    status_code=status.HTTP_201_CREATED,
    operation_id="createCard",
    summary="Write a card by hand",
    responses=error_responses(JSON_BODY, _CLOZE_WITHOUT_DELETION, Refusal.of(SourceNotFound)),
)
async def create_card(
    body: CardCreate, learner: CurrentLearner, db: SessionDep, clock: ClockDep
) -> CardOut:
    """A card written by hand: active at once, so a cloze card needs a deletion."""
    return CardOut.of(await service.create_card(db, learner=learner, data=body, now=clock.now()))


@router.post(
    "/v1/cards/accept",
    operation_id="acceptCards",
    summary="Accept card drafts",
    responses=error_responses(
        JSON_BODY, _NO_SUCH_CARD, _CLOZE_WITHOUT_DELETION, _INVALID_TRANSITION
    ),
)
async def accept_cards(
    body: AcceptRequest, learner: CurrentLearner, db: SessionDep, clock: ClockDep
) -> AcceptResult:
    """Accept several drafts at once: the `ids` given, or `all` of them (of `session_id`),
    leaving flagged drafts for the learner to read unless `include_flagged`. Drafts that
    cannot be reviewed (a cloze card without a deletion) are never accepted: among `ids`
    they refuse the request (422, their ids in `details.ids`), with `all` they stay."""
    if body.ids is not None:
        cards = await service.accept_drafts(db, learner=learner, card_ids=body.ids, now=clock.now())
        return AcceptResult(cards=[CardOut.of(card) for card in cards])
    accepted = await service.accept_all_drafts(
        db,
        learner=learner,
        session_id=body.session_id,
        include_flagged=body.include_flagged,
        now=clock.now(),
    )
    return AcceptResult(
        cards=[CardOut.of(card) for card in accepted.cards],
        skipped_flagged=accepted.skipped_flagged,
    )


@router.get(
    "/v1/cards/{card_id}",
    operation_id="getCard",
    summary="Read one card",
    responses=error_responses(PARAMETERS, _NO_SUCH_CARD),
)
async def get_card(card_id: uuid.UUID, learner: CurrentLearner, db: SessionDep) -> CardOut:
    """The card with its schedule (SM-2's, and FSRS's memory while FSRS schedules it)."""
    return CardOut.of(await service.get_card(db, learner=learner, card_id=card_id))


@router.patch(
    "/v1/cards/{card_id}",
    operation_id="updateCard",
    summary="Edit a card, or accept, suspend or resume it",
    responses=error_responses(
        JSON_BODY, _NO_SUCH_CARD, _INVALID_TRANSITION, _CLOZE_WITHOUT_DELETION
    ),
)
async def update_card(
    card_id: uuid.UUID, body: CardUpdate, learner: CurrentLearner, db: SessionDep, clock: ClockDep
) -> CardOut:
    """Edit a card, or move it: accept a draft (`status: active`), suspend, resume. A
    change that would leave an active cloze card without a deletion is refused (422).
    Fields left out stay as they are; none takes null."""
    card = await service.update_card(
        db, learner=learner, card_id=card_id, changes=body.changes(), now=clock.now()
    )
    return CardOut.of(card)


@router.delete(
    "/v1/cards/{card_id}",
    status_code=status.HTTP_204_NO_CONTENT,
    operation_id="deleteCard",
    summary="Delete a card",
    responses=error_responses(PARAMETERS, _NO_SUCH_CARD),
)
async def delete_card(card_id: uuid.UUID, learner: CurrentLearner, db: SessionDep) -> Response:
    """The card goes, with its review history."""
    await service.delete_card(db, learner=learner, card_id=card_id)
    return Response(status_code=status.HTTP_204_NO_CONTENT)
