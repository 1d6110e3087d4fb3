"""What the browser tests share: the server and learner a test gets (fixtures: conftest.py)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from helpers import bearer


@dataclass(frozen=True)
class Server:
    url: str
    data_dir: Path
    env: dict[str, str]


@dataclass(frozen=True)
class Learner:
    name: str
    key: str

    @property
    def headers(self) -> dict[str, str]:
        return bearer(self.key)
