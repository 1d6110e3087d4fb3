"""Every table, imported in one place so Base.metadata knows them all (for Alembic)."""

from service.db import Base
from service.learners.models import ApiKey, Learner
from service.sources.models import Source

__all__ = ["ApiKey", "Base", "Learner", "Source"]
