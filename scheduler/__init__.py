"""Spaced repetition and background jobs: SM-2 and the `tutor scheduler` process."""
