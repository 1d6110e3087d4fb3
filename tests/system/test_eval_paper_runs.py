"""`tutor eval` on a paper scenario, on the fake model: the passage explained pasted and
then picked in its paper, reported as two categories, and only the picked one's prompt
carries the PAPER CONTEXT."""

from __future__ import annotations

import json
import logging
import re
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

from fakellm import FakeLLM, Reply
from fakellm.script import RecordedRequest, Scripted
from service.config import LLMSettings, Settings
from service.evals.command import Options, rescored, run

SHIPPED = Path(__file__).parents[2] / "bench" / "evals" / "scenarios"
SCENARIO = "paper-rigorous-attention-scaled-dot-product"

# What the fake tutor answers: with the paper's context, it cites and defines as asked.
PICKED = (
    "In Eq. (1), $d_k$ is the dimension of the queries and keys and $Q$ the matrix of the "
    "queries: each dot product in $QK^T$ is divided by $\\sqrt{d_k}$ before the softmax."
)
PASTED = "The dot products are scaled before the softmax so that it does not saturate."


def _reply_for(request: RecordedRequest) -> Scripted | None:
    turn = request.json["messages"][-1]["content"]
    return Reply(PICKED if "PAPER CONTEXT" in turn else PASTED)


@pytest.fixture
def scenarios(tmp_path: Path) -> Path:
    folder = tmp_path / "scenarios" / "paper"
    folder.mkdir(parents=True)
    shutil.copy(SHIPPED / "paper" / f"{SCENARIO}.yaml", folder)
    return folder.parent


@pytest.fixture
def model(fake_llm: FakeLLM, tmp_path: Path) -> Settings:
    fake_llm.responder = _reply_for
    return Settings(
        data_dir=tmp_path / "unused",
        llm=LLMSettings(base_url=fake_llm.base_url, model="eval-model", max_retries=0),
        _env_file=None,
    )


@pytest.fixture(autouse=True)
def log_levels_kept() -> Iterator[None]:
    """The command quiets chatty loggers for its process, here the test worker's."""
    loggers = [logging.getLogger(name) for name in ("httpx", "httpx2", "alembic")]
    levels = [logger.level for logger in loggers]
    yield
    for logger, level in zip(loggers, levels, strict=True):
        logger.setLevel(level)


def _context(turn: str) -> str:
    (inside,) = re.findall(
        r"<<<PAPER CONTEXT (\w+)>>>\n(.*?)\n<<<END PAPER CONTEXT \1>>>", turn, re.S
    )
    return str(inside[1])


async def test_the_passage_is_explained_pasted_then_picked_and_both_are_scored(
    model: Settings, scenarios: Path, tmp_path: Path, fake_llm: FakeLLM
) -> None:
    out = tmp_path / "results.json"
    options = Options(
        scenarios=scenarios,
        prompt_sets=("prompts",),
        only="paper",
        judge=False,
        labelled=None,
        out=out,
    )
    report = await run(model, options)

    pasted, picked = (r.json["messages"][-1]["content"] for r in fake_llm.requests)
    # The same passage both times, with the same source named; only picking it in the
    # paper brings its place and the symbols the paper defined before it.
    assert "PAPER CONTEXT" not in pasted
    assert _context(picked).splitlines() == [
        "Paper: Attention Is All You Need",
        "Section: §3.2.1 Scaled Dot-Product Attention",
        "Equations in the passage: (1)",
        "Symbols the passage uses, as the paper defined them earlier:",
        "- d_k: the dimension of the queries and keys (§3.2)",
        "- Q: the matrix of the queries (§3.2)",
    ]
    for turn in (pasted, picked):
        assert "We call our particular attention" in turn
        assert 'The passage is from "Attention Is All You Need".' in turn

    # Two categories, before and after, one under the other.
    rows = [line for line in report.splitlines() if line.startswith("| paper")]
    assert rows.index("| paper-pasted | answered ↑ | 1.00 (1) |") < rows.index(
        "| paper | answered ↑ | 1.00 (1) |"
    )
    assert "| paper-pasted | paper_symbols_defined ↑ | 0.00 (1) |" in rows
    assert "| paper | paper_symbols_defined ↑ | 1.00 (1) |" in rows
    assert "| paper-pasted | equation_cited ↑ | 0.00 (1) |" in rows
    assert "| paper | equation_cited ↑ | 1.00 (1) |" in rows
    assert "| paper | notation_reused ↑ | 1.00 (1) |" in rows

    stored = json.loads(out.read_text())["prompt_sets"][0]["scenarios"]
    assert set(stored) == {SCENARIO, f"{SCENARIO}:paper-pasted"}
    assert stored[SCENARIO]["outcome"]["answers"][0]["text"] == PICKED
    assert stored[f"{SCENARIO}:paper-pasted"]["category"] == "paper-pasted"

    # Scored again from the JSON, each run keeps its category.
    again = rescored(
        Options(
            scenarios=scenarios,
            prompt_sets=(),
            only=None,
            judge=False,
            labelled=None,
            out=None,
            rescore=(out,),
        )
    )
    assert "| paper-pasted | paper_symbols_defined ↑ | 0.00 (1) |" in again
    assert "| paper | paper_symbols_defined ↑ | 1.00 (1) |" in again
