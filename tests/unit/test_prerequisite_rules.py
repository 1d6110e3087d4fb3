"""What the learner knows, and the step back for what they do not: the fixed rules of
service/prerequisites (knowing.py, matching.py, steps.py), table by table."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

import pytest

from service.prerequisites.knowing import CardSeen, Explained, History, Knowing, Studied, judge
from service.prerequisites.matching import names_in, same_name, same_title
from service.prerequisites.schemas import ConceptDraft, PaperDraft
from service.prerequisites.steps import Queued, step_for

MAY = datetime(2026, 5, 1, 9, tzinfo=UTC)
JUNE = datetime(2026, 6, 1, 9, tzinfo=UTC)


def card(front: str, *tags: str, rating: int | None = None, at: datetime = MAY) -> CardSeen:
    return CardSeen(
        id=uuid.uuid4(),
        front=front,
        back="",
        tags=tags,
        last_rating=rating,
        last_reviewed=at if rating is not None else None,
    )


def history(
    *,
    marks: dict[str, str] | None = None,
    explained: list[Explained] | None = None,
    cards: list[CardSeen] | None = None,
    studied: list[Studied] | None = None,
) -> History:
    return History(
        marks=marks or {}, explained=explained or [], cards=cards or [], studied=studied or []
    )


@pytest.mark.parametrize(
    ("names", "seen", "expected"),
    [
        (["softmax"], history(), Knowing(False, None)),
        (
            ["softmax"],
            history(marks={"Softmax": "known"}),
            Knowing(True, "You marked it as known."),
        ),
        (
            ["softmax"],
            # The learner's own mark beats a solid critique.
            history(
                marks={"softmax": "learning"},
                explained=[Explained("softmax", "solid", 5, MAY)],
            ),
            Knowing(False, "You marked it as still learning."),
        ),
        (
            ["softmax"],
            history(explained=[Explained("Softmax ", "solid", 4, MAY)]),
            Knowing(True, "You explained it back: solid (4/5)."),
        ),
        (
            ["softmax"],
            # The latest explanation decides, and it beats cards graded Good.
            history(
                explained=[
                    Explained("softmax", "solid", 4, MAY),
                    Explained("softmax", "shaky", 2, JUNE),
                ],
                cards=[card("What does the softmax do?", rating=3)],
            ),
            Knowing(False, "Your last explanation of it was shaky (2/5)."),
        ),
        (
            ["layer normalization", "LayerNorm"],
            history(
                cards=[
                    card("Why does a LayerNorm come after each sublayer?", rating=1, at=MAY),
                    card("Layer norm normalizes over which axis?", rating=4, at=JUNE),
                ]
            ),
            Knowing(True, "2 cards you review; last graded Easy."),
        ),
        (
            ["layer normalization"],
            history(cards=[card("Layer normalization: over which axis?", rating=2)]),
            Knowing(False, "1 card you review; last graded Hard."),
        ),
        (
            ["layer normalization"],
            history(cards=[card("Over which axis?", "layer-normalization")]),
            Knowing(False, "1 card on it, not reviewed yet."),
        ),
        (
            # A tag shorter than the concept is not the concept.
            ["scaled dot-product attention"],
            history(cards=[card("What is a head?", "attention", rating=3)]),
            Knowing(False, None),
        ),
        (
            # A short name matches whole words only: "KL" is not in "weakly".
            ["KL"],
            history(cards=[card("Why is the loss weakly convex?", rating=3)]),
            Knowing(False, None),
        ),
        (
            ["KL divergence", "KL"],
            history(cards=[card("What does the KL term in PPO's objective keep?", rating=3)]),
            Knowing(True, "1 card you review; last graded Good."),
        ),
        (
            ["positional encoding"],
            history(
                studied=[
                    Studied("Positional encodings, sinusoidal", 0),
                    Studied("Positional encoding in the Transformer", 1),
                ]
            ),
            Knowing(
                True,
                "You answered its check question right in “Positional encoding in "
                "the Transformer”.",
            ),
        ),
        (
            ["positional encoding"],
            history(studied=[Studied("Positional encodings, sinusoidal", 0)]),
            Knowing(False, "You studied it in “Positional encodings, sinusoidal”."),
        ),
    ],
)
def test_what_the_history_shows(names: list[str], seen: History, expected: Knowing) -> None:
    assert judge(names, seen) == expected


@pytest.mark.parametrize(
    ("text", "names", "named"),
    [
        ("Why does a Layer-Norm follow each sublayer?", ["layer norm"], True),
        ("Layer normalisation, over which axis?", ["layer normalization"], True),
        ("The residual stream", ["layer normalization"], False),
        ("RLHF in three steps", ["RL"], False),
        ("Why RL needs a reward model", ["RL"], True),
        ("attention", ["scaled dot-product attention"], False),
        ("", ["softmax"], False),
    ],
)
def test_names_in(text: str, names: list[str], named: bool) -> None:
    assert names_in(text, names) is named


def test_same_name_and_title() -> None:
    assert same_name("Multi-head  attention", "multi head attention")
    assert not same_name("attention", "self-attention mask")
    assert same_title("Attention Is All You Need", "Attention is all you need (Vaswani, 2017)")
    assert not same_title("Attention", "Attention Is All You Need")


def draft(name: str, paper: PaperDraft | None = None, *also: str) -> ConceptDraft:
    return ConceptDraft(name=name, also_called=list(also), why="It is used.", paper=paper)


QUEUE = [
    Queued(uuid.uuid4(), "arXiv 1412.6980", "https://arxiv.org/abs/1412.6980"),
    Queued(uuid.uuid4(), "Layer Normalization (Ba, Kiros, Hinton)", None),
    Queued(uuid.uuid4(), "Attention Is All You Need", None),
]


@pytest.mark.parametrize(
    ("concept", "known", "expected"),
    [
        (draft("softmax"), True, ("known", None, None, None)),
        # Known wins over a paper in the queue: nothing to do.
        (draft("layer normalization"), True, ("known", None, None, None)),
        # By arXiv id (the queue's source still waits for its title).
        (
            draft("Adam", PaperDraft(title="Adam", arxiv_id="1412.6980v9")),
            False,
            ("queued_source", QUEUE[0].id, "arXiv 1412.6980", None),
        ),
        # By the suggested paper's title.
        (
            draft(
                "multi-head attention", PaperDraft(title="Attention is all you need", arxiv_id=None)
            ),
            False,
            ("queued_source", QUEUE[2].id, "Attention Is All You Need", None),
        ),
        # By the concept's name in a source's title.
        (
            draft("layer normalization"),
            False,
            ("queued_source", QUEUE[1].id, "Layer Normalization (Ba, Kiros, Hinton)", None),
        ),
        (
            draft("RoPE", PaperDraft(title="RoFormer", arxiv_id="arXiv:2104.09864")),
            False,
            ("add_source", None, "RoFormer", "2104.09864"),
        ),
        # A made-up id is dropped; the paper stays.
        (
            draft("GAE", PaperDraft(title="High-Dimensional Continuous Control", arxiv_id="42")),
            False,
            ("add_source", None, "High-Dimensional Continuous Control", None),
        ),
        (draft("dot product"), False, ("explain", None, None, None)),
    ],
)
def test_the_step_back(concept: ConceptDraft, known: bool, expected: tuple[object, ...]) -> None:
    step = step_for(concept, known=known, queue=QUEUE)
    assert (step.kind, step.source_id, step.title, step.arxiv_id) == expected
