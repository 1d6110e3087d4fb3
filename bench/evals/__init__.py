"""`tutor eval`'s scenarios, judge labels and recorded replies, and the replay tool
(`.venv/bin/python -m bench.evals.replay`); see docs/evals.md."""
