"""A Python client generated from the live OpenAPI document (openapi-python-client)
drives a real `tutor serve`: what a user of the API would generate works as generated.

The generator runs from a virtual environment of its own (it caps typer and httpx below
Tutor's), made from .ci/openapi/client-requirements.txt the first time on a machine and
kept outside the clone, in `~/.cache/tutor/openapi-client/<hash of that file>`.
"""

from __future__ import annotations

import fcntl
import hashlib
import importlib
import os
import shutil
import subprocess
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType
from typing import Any

import httpx
import pytest

from fakellm import FakeLLM, Reply
from helpers import ANY_TASK_REPLY
from tutor_process import TutorServer

OPENAPI_TOOLS = Path(__file__).parents[2] / ".ci" / "openapi"
REQUIREMENTS = OPENAPI_TOOLS / "client-requirements.txt"
EXPLANATION = "Each query scores every key; dividing by √d_k keeps the softmax soft."


@pytest.fixture
def served(tmp_path: Path) -> Iterator[tuple[TutorServer, str, FakeLLM]]:
    with FakeLLM() as fake:
        server = TutorServer(
            tmp_path,
            llm_base_url=fake.base_url,
            llm_model="fake-model",
            llm_max_retries=0,
            rate_limit_per_minute=0,
        )
        key = server.start()
        assert key is not None, server.printed()
        try:
            yield server, key, fake
        finally:
            server.kill()


def _generator() -> Path:
    """The generator's command, installed into its cached environment first if need be."""
    xdg = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    pins = hashlib.sha256(REQUIREMENTS.read_bytes()).hexdigest()[:16]
    venv = Path(xdg) / "tutor" / "openapi-client" / pins
    command = venv / "bin" / "openapi-python-client"
    done = venv / "installed"  # written last: an install cut short is made anew
    venv.parent.mkdir(parents=True, exist_ok=True)
    with (venv.parent / f"{pins}.lock").open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # one installer at a time, across xdist workers
        if not done.exists():
            shutil.rmtree(venv, ignore_errors=True)
            subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
            installed = subprocess.run(
                [str(venv / "bin" / "pip"), "install", "--quiet", "-r", str(REQUIREMENTS)],
                capture_output=True,
                text=True,
                check=False,
            )
            assert installed.returncode == 0, installed.stdout + installed.stderr
            done.touch()
    return command


def _generate(spec: bytes, directory: Path) -> ModuleType:
    (directory / "openapi.json").write_bytes(spec)
    generated = subprocess.run(
        [
            str(_generator()),
            "generate",
            "--path",
            str(directory / "openapi.json"),
            "--config",
            str(OPENAPI_TOOLS / "client-config.yaml"),
            "--meta",
            "none",
            "--output-path",
            str(directory / "tutor_client"),
        ],
        capture_output=True,
        text=True,
        check=False,
    )
    assert generated.returncode == 0, generated.stdout + generated.stderr
    # Every operation made it into the client: nothing was left out with a warning.
    assert "Warning" not in generated.stdout + generated.stderr, generated.stdout
    sys.path.insert(0, str(directory))
    return importlib.import_module("tutor_client")


@pytest.fixture
def tutor_client(tmp_path: Path) -> Iterator[Any]:
    yield lambda spec: _generate(spec, tmp_path)
    sys.path.remove(str(tmp_path))
    for name in [name for name in sys.modules if name.split(".")[0] == "tutor_client"]:
        del sys.modules[name]


def _operation(name: str) -> Any:
    """The generated module of one operation, by tag and operation id (snake case)."""
    return importlib.import_module(f"tutor_client.api.{name}")


def test_a_generated_client_drives_the_api(
    served: tuple[TutorServer, str, FakeLLM], tutor_client: Any
) -> None:
    server, key, fake = served
    client_package = tutor_client(httpx.get(f"{server.url}/openapi.json").content)
    models = importlib.import_module("tutor_client.models")
    client = client_package.AuthenticatedClient(base_url=server.url, token=key)
    me = _operation("learner.get_me").sync(client=client)
    assert isinstance(me, models.LearnerOut)
    assert me.name == "me"

    source = _operation("sources.create_source").sync(
        client=client, body=models.SourceCreate(title="Attention Is All You Need")
    )
    session = _operation("sessions.create_session").sync(
        client=client, body=models.SessionCreate(source_id=source.id)
    )
    fake.script(Reply(EXPLANATION))
    answer = _operation("sessions.explain_passage").sync(
        session_id=session.id,
        client=client,
        body=models.ExplainRequest(passage="Scaled Dot-Product Attention"),
    )
    assert isinstance(answer, models.MessageEnvelope)
    assert answer.message.content == EXPLANATION
    assert answer.message.status == models.MessageStatus.COMPLETE

    fake.default = Reply(ANY_TASK_REPLY)  # a batch of cards
    drafts = _operation("cards.distill_session").sync(
        session_id=session.id, client=client, body=models.DistillRequest(max_cards=5)
    )
    assert isinstance(drafts, models.DistillResult)
    accepted = _operation("cards.accept_cards").sync(
        client=client, body=models.AcceptRequest(ids=[card.id for card in drafts.cards])
    )
    assert len(accepted.cards) == len(drafts.cards) == 2
    listed = _operation("cards.list_cards").sync(client=client, session_id=session.id)
    assert {card.id for card in listed.items} == {card.id for card in drafts.cards}

    queue = _operation("reviews.list_due_cards").sync(client=client)
    card_id = queue.cards[0].id
    graded = _operation("reviews.grade_card").sync(
        client=client, body=models.ReviewRequest(card_id=card_id, grade=5)
    )
    assert isinstance(graded, models.ReviewResult)
    assert graded.review.rating == models.ReviewOutRating.EASY
    # A refusal is parsed into the error shape, with its documented code.
    again = _operation("reviews.grade_card").sync_detailed(
        client=client, body=models.ReviewRequest(card_id=card_id, grade=5)
    )
    assert again.status_code == 409
    assert isinstance(again.parsed, models.ErrorResponse)
    assert again.parsed.error.code == "not_due"

    package = _operation("import_and_export.export_anki").sync(client=client)
    assert package.payload.read(2) == b"PK"  # a zip, as an .apkg is

    missing = _operation("sources.get_source").sync(source_id=uuid.uuid4(), client=client)
    assert isinstance(missing, models.ErrorResponse)
    assert missing.error.code == "source_not_found"
