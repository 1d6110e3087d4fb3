"""`python -m service` does what the `tutor` command does."""

from service.cli import app

app(prog_name="tutor")
