"""What Tutor knows about the learner, as the API shows it, and the corrections it takes."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints
from pydantic.config import JsonDict

from service.knowledge.profile import ConceptStatus, MisconceptionState

ConceptMark = Literal["known", "learning", "ignore"]
# Material to preview what the tutor is told about: a passage's worth, and short enough
# for a query string to pass every proxy.
About = Annotated[str, StringConstraints(min_length=1, max_length=6_000)]

_CONCEPT: JsonDict = {
    "key": "scaled dot product attention",
    "name": "scaled dot-product attention",
    "status": "shaky",
    "mark": None,
    "attempts": 2,
    "last_score": 3,
    "cards": 4,
    "lapses": 1,
    "ease": 2.36,
    "last_seen": "2025-03-15T08:12:40Z",
    "open_misconceptions": 1,
}
_MISCONCEPTION: JsonDict = {
    "id": "c4f1a2b3-d5e6-4f70-8a9b-0c1d2e3f4a5b.0",
    "concept": "scaled dot-product attention",
    "concept_key": "scaled dot product attention",
    "text": "The attention weights are taken to be the output, rather than weights on V.",
    "quote": "the softmax gives the attention output",
    "times": 2,
    "first_seen": "2025-03-14T09:45:10Z",
    "last_seen": "2025-03-15T19:02:33Z",
    "state": "open",
}


class ConceptOut(BaseModel):
    model_config = ConfigDict(from_attributes=True, json_schema_extra={"examples": [_CONCEPT]})

    key: str = Field(description="The concept's identity: casefolded, hyphens as spaces.")
    name: str
    status: ConceptStatus = Field(
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
    model_config = ConfigDict(
        from_attributes=True, json_schema_extra={"examples": [_MISCONCEPTION]}
    )

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
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "concepts": [_CONCEPT],
                    "misconceptions": [_MISCONCEPTION],
                    "told": "The learner has mixed up the attention weights with the "
                    "output before: the weights multiply V.",
                }
            ]
        }
    )

    concepts: list[ConceptOut]
    misconceptions: list[MisconceptionOut]
    told: str | None = Field(
        description="What the tutor is told about the learner when answering on the "
        "`about` text; null without `about`, or when nothing bears on it."
    )


class ConceptMarkRequest(BaseModel):
    model_config = ConfigDict(
        extra="forbid", json_schema_extra={"examples": [{"mark": "known"}, {"mark": None}]}
    )

    mark: ConceptMark | None = Field(
        description="`known`: build on it; `learning`: treat it as new; `ignore`: never "
        "tell the tutor about it; null: no correction."
    )


class MisconceptionUpdate(BaseModel):
    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [{"dismissed": True}]})

    dismissed: bool = Field(description="Not (or no longer) the learner's mistake.")
