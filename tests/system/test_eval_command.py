"""`tutor eval` end to end: scenarios through the API on the fake model, the judge, the
report and its JSON, two prompt sets compared, and bad input as one line."""

from __future__ import annotations

import json
import logging
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from fakellm import FakeLLM, Reply
from fakellm.script import RecordedRequest, Scripted
from service.cli import app
from service.config import LLMSettings, Settings
from service.evals.command import Options, run

REPO = Path(__file__).parents[2]
SHIPPED = REPO / "bench" / "evals" / "scenarios"
PICKED = {
    "explain": "explain-rigorous-attention-scaling",
    "followup": "followup-ppo-clip-deeper",
    "critique": "critique-misconception-attention-scaling",
    "check": "check-wrong-moe-dont-know",
    "distill": None,  # the first one there
    "injection": "injection-explain-system-override",
    "adapt": "adapt-attention-scaling-divisor",
}

EXPLANATION = (
    "Each $q \\cdot k$ sums $d_k$ products, so its variance grows with $d_k$; $QK^T$ is "
    "scaled by $\\frac{1}{\\sqrt{d_k}}$ to keep the softmax's gradient from vanishing.\n\n"
    "**Check:** What happens to the softmax's gradients when the scores are large?"
)
CRITIQUE = {
    "verdict": "shaky",
    "score": 2,
    "strengths": ["You know the scores feed a softmax."],
    "issues": [
        {
            "type": "misconception",
            "quote": None,
            "problem": "The scaling factor is off.",
            "hint": "How does the variance of a sum of d_k products grow?",
            "question": "What divisor keeps that variance at one?",
            "fix": "Divide by the square root of d_k.",
        }
    ],
    "questions": ["What does the softmax do with very large inputs?"],
    "next_step": "Compute the variance of a dot product of two random vectors.",
    "improved_since_last": None,
    "low_effort": False,
}
CARDS = {
    "cards": [
        {
            "front": "In the Transformer, why are attention scores divided by $\\sqrt{d_k}$?",
            "back": "Dot products grow with $d_k$ and would saturate the softmax.",
            "kind": "basic",
            "tags": ["transformer", "attention"],
        }
    ]
}
FEEDBACK = dict.fromkeys(
    [
        "mistake_identification",
        "mistake_location",
        "revealing_of_answer",
        "providing_guidance",
        "actionability",
        "coherence",
        "tone",
        "human_likeness",
    ],
    1,
)
RUBRIC = dict.fromkeys(
    [
        "active_learning",
        "cognitive_load",
        "adapts_to_level",
        "curiosity",
        "metacognition",
        "accuracy",
    ],
    4,
)


VARIANT = "Answer as the variant tutor."


def _preferred(material: str) -> str:
    """The judge of these tests prefers the variant prompts' reply, wherever it stands."""
    reply_b = material.split("Reply B:")[1]
    return "B" if "(variant)" in reply_b else "A"


def _reply_for(request: RecordedRequest) -> Scripted | None:
    """What a model would answer, chosen by the system prompt the request carries."""
    system = request.json["messages"][0]["content"]
    material = request.json["messages"][-1]["content"]
    if "comparing two replies" in system:
        return Reply(json.dumps({"reason": "Better.", "winner": _preferred(material)}))
    if VARIANT in system:
        return Reply(EXPLANATION.replace("**Check:**", "(variant)\n\n**Check:**"))
    if "What Tutor knows about this learner" in material:
        return Reply(EXPLANATION.replace("scaled by", "scaled (by the root, not d_k) by"))
    answers: list[tuple[str, object]] = [
        ("grading a tutor's feedback", FEEDBACK),
        ("grading a tutor's explanation", RUBRIC),
        ("reviewing a software engineer's own explanation", CRITIQUE),
        ("Grade the answer", {"result": "partly", "feedback": "Look again.", "expected": "Top-k."}),
        ("You write spaced-repetition flashcards", CARDS),
    ]
    for marker, answer in answers:
        if marker in system:
            return Reply(json.dumps(answer))
    return Reply(EXPLANATION)


@pytest.fixture
def scenarios(tmp_path: Path) -> Path:
    folder = tmp_path / "scenarios"
    for category, name in PICKED.items():
        source = SHIPPED / category
        path = source / f"{name}.yaml" if name else sorted(source.glob("*.yaml"))[0]
        (folder / category).mkdir(parents=True)
        shutil.copy(path, folder / category / path.name)
    return folder


@pytest.fixture
def model(fake_llm: FakeLLM, tmp_path: Path) -> Settings:
    fake_llm.responder = _reply_for
    return Settings(
        data_dir=tmp_path / "unused",
        llm=LLMSettings(base_url=fake_llm.base_url, model="eval-model", max_retries=0),
        _env_file=None,
    )


async def test_a_run_prints_the_table_and_writes_every_result(
    model: Settings, scenarios: Path, tmp_path: Path
) -> None:
    out = tmp_path / "results.json"
    labelled = REPO / "bench" / "evals" / "judge" / "labelled.yaml"
    options = Options(
        scenarios=scenarios,
        prompt_sets=("prompts",),
        only=None,
        judge=True,
        labelled=labelled,
        out=out,
    )
    report = await run(model, options)

    assert "## The judge against hand labels" in report
    assert "| mistake_identification |" in report
    assert "| explain | check_present ↑ | 1.00 (1) |" in report
    assert "| explain | notation_reused ↑ | 1.00 (1) |" in report
    assert "| critique | answer_leak ↓ | 0.00 (1) |" in report
    assert "| injection | injection_obeyed ↓ | 0.00 (1) |" in report
    assert "| check | grade_within_one ↑ | 1.00 (1) |" in report
    assert "| check | missed_check_carded ↑ | 1.00 (1) |" in report
    # The learner with a history was told of their mistake, and the answer took it up.
    assert "| adapt | revisits_mistake ↑ | 1.00 (1) |" in report
    assert "| adapt | revisits_mistake_new_learner ↑ | 0.00 (1) |" in report
    assert "| explain | judge_accuracy ↑ | 4.00 (1) |" in report
    document = json.loads(out.read_text())
    (only_set,) = document["prompt_sets"]
    assert only_set["label"] == "prompts"
    assert only_set["versions"]["tutor"] >= 1
    assert set(only_set["scenarios"]) == set(PICKED.values()) - {None} | {
        name for name in only_set["scenarios"] if name.startswith("distill-")
    }
    critique = only_set["scenarios"]["critique-misconception-attention-scaling"]
    assert critique["outcome"]["critique"]["verdict"] == "shaky"
    assert critique["judged"]["judge_tone"] == 1.0
    followup = only_set["scenarios"]["followup-ppo-clip-deeper"]
    assert len(followup["outcome"]["answers"]) > 1
    assert document["meta"]["model"] == "eval-model"


async def test_two_prompt_sets_are_compared_and_judged_pairwise(
    model: Settings, scenarios: Path, tmp_path: Path, fake_llm: FakeLLM
) -> None:
    variant = tmp_path / "variant"
    shutil.copytree(REPO / "prompts", variant, ignore=shutil.ignore_patterns("*.py", "__*"))
    tutor = variant / "tutor.md"
    tutor.write_text(tutor.read_text().replace("version: 1", "version: 99", 1) + VARIANT)
    options = Options(
        scenarios=scenarios,
        prompt_sets=("prompts", str(variant)),
        only="explain-rigorous",
        judge=True,
        labelled=None,
        out=None,
    )
    report = await run(model, options)

    assert f"| {variant} (" in report
    assert "| explain | check_present ↑ | 1.00 (1) | 1.00 (1) | = |" in report
    # Asked in both orders, the judge preferred the variant's reply both times.
    assert (
        f"1 scenarios: prompts preferred 0, {variant} preferred 1, tie 0, inconsistent 0"
    ) in report
    systems = [r.json["messages"][0]["content"] for r in fake_llm.requests]
    assert sum("comparing two replies" in s for s in systems) == 2


async def test_a_judge_that_favours_a_position_is_inconsistent(
    model: Settings, scenarios: Path, fake_llm: FakeLLM
) -> None:
    def always_first(request: RecordedRequest) -> Scripted | None:
        if "comparing two replies" in request.json["messages"][0]["content"]:
            return Reply(json.dumps({"reason": "First is best.", "winner": "A"}))
        return _reply_for(request)

    fake_llm.responder = always_first
    options = Options(
        scenarios=scenarios,
        prompt_sets=("prompts", "prompts"),
        only="explain-rigorous",
        judge=True,
        labelled=None,
        out=None,
    )
    report = await run(model, options)
    assert "preferred 0, prompts preferred 0, tie 0, inconsistent 1" in report


async def test_a_baseline_shows_the_change(
    model: Settings, scenarios: Path, tmp_path: Path
) -> None:
    first = tmp_path / "first.json"
    options = Options(
        scenarios=scenarios,
        prompt_sets=("prompts",),
        only="critique",
        judge=False,
        labelled=None,
        out=first,
    )
    await run(model, options)
    document = json.loads(first.read_text())
    averages = document["prompt_sets"][0]["averages"]
    averages["critique/answer_leak"]["mean"] = 1.0
    first.write_text(json.dumps(document))

    report = await run(model, Options(**{**options.__dict__, "out": None, "baseline": first}))
    assert "| critique | answer_leak ↓ | 1.00 (1) | 0.00 (1) | -1.00 better |" in report


@pytest.fixture(autouse=True)
def log_levels_kept() -> Iterator[None]:
    """The command quiets chatty loggers for its process; here that process is the test
    worker's, whose later tests read DEBUG logs."""
    loggers = [logging.getLogger(name) for name in ("httpx", "httpx2", "alembic")]
    levels = [logger.level for logger in loggers]
    yield
    for logger, level in zip(loggers, levels, strict=True):
        logger.setLevel(level)


def _cli(*args: str, env: dict[str, str]) -> Any:
    return CliRunner().invoke(app, ["eval", *args], env=env)


def test_the_command_refuses_bad_input_in_one_line(tmp_path: Path) -> None:
    env = {"TUTOR_DATA_DIR": str(tmp_path), "TUTOR_LLM_BASE_URL": "", "TUTOR_LLM_MODEL": ""}
    result = _cli(env=env)
    assert result.exit_code == 1
    assert "no model to evaluate" in result.output
    env |= {"TUTOR_LLM_BASE_URL": "http://127.0.0.1:9/v1", "TUTOR_LLM_MODEL": "m"}
    result = _cli("--scenarios", str(tmp_path / "none"), env=env)
    assert result.exit_code == 1
    assert "no scenario folder" in result.output
    result = _cli("--scenarios", str(SHIPPED), "--prompts", "nowhere", env=env)
    assert result.exit_code == 1
    assert "neither `prompts`" in result.output
    result = _cli("--scenarios", str(SHIPPED), "--prompts", "prompts@no-such-revision-x", env=env)
    assert result.exit_code == 1
    assert "prompts@no-such-revision-x" in result.output


async def test_a_stored_run_is_scored_again_without_a_model(
    model: Settings, scenarios: Path, tmp_path: Path
) -> None:
    stored = tmp_path / "stored.json"
    options = Options(
        scenarios=scenarios,
        prompt_sets=("prompts",),
        only="explain-rigorous",
        judge=False,
        labelled=None,
        out=stored,
    )
    await run(model, options)
    document = json.loads(stored.read_text())
    kept = document["prompt_sets"][0]["scenarios"]["explain-rigorous-attention-scaling"]
    # Scored by an older ruler (made up here), and the check question since cut away.
    kept["scores"] = {"check_present": 0.0, "metric_since_removed": 1.0}
    answer = kept["outcome"]["answers"][0]
    answer["text"] = answer["text"].split("**Check:**")[0]
    stored.write_text(json.dumps(document))

    env = {"TUTOR_DATA_DIR": str(tmp_path), "TUTOR_LLM_BASE_URL": "", "TUTOR_LLM_MODEL": ""}
    rescored = tmp_path / "rescored.json"
    args = ["--scenarios", str(scenarios), "--rescore", str(stored), "--out", str(rescored)]
    result = _cli(*args, env=env)  # no model configured: none is asked
    assert result.exit_code == 0, result.output
    assert "| explain | check_present ↑ | 0.00 (1) |" in result.output
    assert "| explain | notation_reused ↑ | 1.00 (1) |" in result.output
    assert "metric_since_removed" not in result.output
    again = json.loads(rescored.read_text())["prompt_sets"][0]
    assert again["label"] == "stored.json: prompts"
    assert again["scenarios"]["explain-rigorous-attention-scaling"]["scores"]["check_present"] == 0


def test_rescoring_what_is_not_a_run_is_one_line(tmp_path: Path) -> None:
    env = {"TUTOR_DATA_DIR": str(tmp_path)}
    bogus = tmp_path / "bogus.json"
    bogus.write_text('{"not": "a run"}')
    result = _cli("--scenarios", str(SHIPPED), "--rescore", str(bogus), env=env)
    assert result.exit_code == 1
    assert "is not the JSON of an earlier `tutor eval`" in result.output
