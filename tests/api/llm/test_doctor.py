"""`tutor doctor`: one look at the configured model, as Tutor would use it."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from fakellm import FakeLLM, Reply
from service.cli import app


@pytest.fixture
def doctor(monkeypatch: pytest.MonkeyPatch, tmp_path: Path):
    monkeypatch.setenv("TUTOR_DATA_DIR", str(tmp_path / "data"))

    def run(fake: FakeLLM | None, *args: str, **env: str):
        if fake is not None:
            monkeypatch.setenv("TUTOR_LLM_BASE_URL", fake.base_url)
            monkeypatch.setenv("TUTOR_LLM_MODEL", "local")
        for name, value in env.items():
            monkeypatch.setenv(name, value)
        return CliRunner().invoke(app, ["doctor", *args])

    return run


def test_a_working_llama_cpp_server(doctor, fake_llm: FakeLLM) -> None:
    fake_llm.props = {"default_generation_settings": {"n_ctx": 8192}}
    fake_llm.refuse_max_tokens = True  # and it wants the other token parameter
    fake_llm.reject_response_formats = {"json_schema"}
    fake_llm.script(Reply("A tutor explains."), Reply('{"word": "apple"}'))
    result = doctor(fake_llm)
    assert result.exit_code == 0, result.output
    out = result.stdout
    assert f"Model endpoint  {fake_llm.base_url}" in out
    assert "8192 tokens (llama.cpp /props)" in out
    assert "sent as max_completion_tokens" in out
    assert "streaming     works" in out
    assert "JSON output   json_object" in out
    assert out.rstrip().endswith("Ready.")
    # Nothing about each HTTP request: the report says what matters.
    assert "HTTP Request" not in result.output


def test_json_output(doctor, fake_llm: FakeLLM) -> None:
    fake_llm.script(Reply("A tutor explains."), Reply('{"word": "apple"}'))
    result = doctor(fake_llm, "--json")
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout)
    assert report["ready"] is True
    (model,) = report["models"]
    assert model["model"] == "local"
    assert model["purposes"] == [
        "explain",
        "critique",
        "check",
        "distill",
        "studylog",
        "prerequisites",
        "judge",
    ]
    assert model["context_tokens"] is None  # the fake says nothing of its context
    assert model["budget"]["context"] == 16000


def test_a_server_that_is_down(doctor) -> None:
    with FakeLLM() as fake:
        base_url = fake.base_url
    result = doctor(None, TUTOR_LLM_BASE_URL=base_url, TUTOR_LLM_MODEL="local")
    assert result.exit_code == 1
    assert "The endpoint does not answer" in result.stdout
    assert result.stdout.rstrip().endswith("Not ready: see the problems above.")


def test_a_model_whose_answers_break(doctor, fake_llm: FakeLLM) -> None:
    fake_llm.script(Reply("Half", finish_reason=None), Reply("not json"), Reply("still not"))
    result = doctor(fake_llm)
    assert result.exit_code == 1
    assert "problem       A streamed answer: llm_interrupted" in result.stdout
    assert "problem       Structured output: llm_bad_output" in result.stdout


def test_no_model_configured(doctor) -> None:
    result = doctor(None)
    assert result.exit_code == 1
    assert "No model is configured" in result.stdout
