"""Tutor: a self-hosted LLM tutor with spaced repetition."""

__version__ = "0.1.0"
