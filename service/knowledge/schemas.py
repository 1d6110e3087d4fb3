"""What Tutor knows about the learner, as the API shows it, and the corrections it takes."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

from service.knowledge.profile import MisconceptionState, Status

ConceptMark = Literal["known", "learning", "ignore"]
# Material to preview what the tutor is told about: a passage's worth, and short enough
# for a query string to pass every proxy.
About = Annotated[str, StringConstraints(min_length=1, max_length=6_000)]


class ConceptOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    key: str = Field(description="The concept's identity: casefolded, hyphens as spaces.")
    name: str
    status: Status = Field(
        description="Derived from the evidence: `shaky` (an open mistake, a latest "
        "explanation scored 2/5 or less, or cards that keep lapsing), `solid` (a latest "
        "explanation scored 4/5 or more, or reviewed cards that never lapsed), else "
        "`learning`."
    )
    mark: ConceptMark | None = Field(description="The learner's correction, if any.")
    attempts: int = Field(description="Explanations of it the tutor critiqued.")
    last_score: int | None
    cards: int = Field(description="Accepted cards tagged with it.")
    lapses: int
    ease: float | None = Field(description="The lowest mean SM-2 ease of its cards.")
    last_seen: datetime | None
    open_misconceptions: int


class MisconceptionOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: str
    concept: str
    concept_key: str
    text: str = Field(description="What the learner got wrong, as the critique put it.")
    quote: str | None = Field(description="The learner's own words, where it showed.")
    times: int = Field(description="In how many critiques the mistake came back.")
    first_seen: datetime
    last_seen: datetime
    state: MisconceptionState


class KnowledgeOut(BaseModel):
    concepts: list[ConceptOut]
    misconceptions: list[MisconceptionOut]
    told: str | None = Field(
        description="What the tutor is told about the learner when answering on the "
        "`about` text; null without `about`, or when nothing bears on it."
    )


class ConceptMarkRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    mark: ConceptMark | None = Field(
        description="`known`: build on it; `learning`: treat it as new; `ignore`: never "
        "tell the tutor about it; null: no correction."
    )


class MisconceptionUpdate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    dismissed: bool = Field(description="Not (or no longer) the learner's mistake.")
