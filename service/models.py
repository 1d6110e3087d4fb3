"""Every table, imported in one place so Base.metadata knows them all (for Alembic)."""

from service.calls.models import LLMCall
from service.cards.models import Card, CardPassage, CardTag
from service.checks.models import CheckAnswer
from service.db import Base
from service.jobs.models import JobRun
from service.knowledge.models import KnowledgeMark
from service.learners.models import ApiKey, Learner
from service.papers.models import Paper, PaperBlock, PaperSection, PaperSymbol
from service.prerequisites.models import PrerequisitePath
from service.reviews.models import IdempotencyKey, Review
from service.sessions.models import Critique, Message, PaperPassage, TutorSession
from service.sources.models import Source
from service.studylog.models import StudyLogEntry

__all__ = [
    "ApiKey",
    "Base",
    "Card",
    "CardPassage",
    "CardTag",
    "CheckAnswer",
    "Critique",
    "IdempotencyKey",
    "JobRun",
    "KnowledgeMark",
    "LLMCall",
    "Learner",
    "Message",
    "Paper",
    "PaperBlock",
    "PaperPassage",
    "PaperSection",
    "PaperSymbol",
    "PrerequisitePath",
    "Review",
    "Source",
    "StudyLogEntry",
    "TutorSession",
]
