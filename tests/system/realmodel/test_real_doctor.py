"""`tutor doctor` against the real server: what a user runs before their first lesson."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any


def test_doctor_finds_the_server_ready(real_model: Any, tmp_path: Path) -> None:
    env = {"PATH": "/usr/bin:/bin", "HOME": str(tmp_path)}
    env |= {
        "TUTOR_DATA_DIR": str(tmp_path / "data"),
        "TUTOR_LLM_BASE_URL": real_model.base_url,
        "TUTOR_LLM_MODEL": real_model.model,
        "TUTOR_LLM_TIMEOUT": "170",
    }
    if real_model.api_key:
        env["TUTOR_LLM_API_KEY"] = real_model.api_key
    done = subprocess.run(
        [sys.executable, "-m", "service", "doctor", "--json"],
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    report = json.loads(done.stdout)
    assert report["ready"] is True
    (model,) = report["models"]
    assert model["streaming"].startswith("works")
    assert model["structured_mode"] in ("json_schema", "json_object", "prompt")
    assert model["budget"]["answer"] > 0
    if real_model.server is not None:  # llama-server with SmolLM2: known answers
        assert (model["context_tokens"], model["context_source"]) == (8192, "llama.cpp /props")
        assert model["token_param"] == "max_tokens"
        assert model["structured_mode"] == "json_schema"
