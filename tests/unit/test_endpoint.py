"""What is learnt about a model, and how long it holds."""

from __future__ import annotations

import pytest

from service.config import LLMSettings
from service.llm import endpoint as endpoint_module
from service.llm.budget import Budget
from service.llm.endpoint import (
    ESTIMATED_TOKEN_RATIO,
    STRUCTURED_RETRY_SECONDS,
    Endpoint,
    Endpoints,
)


def test_the_token_ratio_starts_cautious_and_only_grows() -> None:
    endpoint = Endpoint("local", counts_exact=False)
    assert endpoint.token_ratio == ESTIMATED_TOKEN_RATIO
    endpoint.observe_usage(counted=1000, reported=900)  # a tokenizer coarser than ours
    assert endpoint.token_ratio == 1.0  # measured; never below one of ours
    endpoint.observe_usage(counted=1000, reported=1300)
    endpoint.observe_usage(counted=1000, reported=1100)
    assert endpoint.token_ratio == 1.3
    assert Endpoint("gpt-4o", counts_exact=True).token_ratio == 1.0


def test_budgets_follow_the_context_and_the_settings_cap_them() -> None:
    endpoint = Endpoint("local", counts_exact=False)
    settings = LLMSettings()
    assert Budget.of(settings, endpoint) == Budget(16_000, 1_500, 6_000, "local")
    endpoint.learn_context(4096, "llama.cpp /props")
    assert Budget.of(settings, endpoint) == Budget(3413, 682, 1365, "local")
    capped = LLMSettings(context_tokens=2000)
    assert Budget.of(capped, endpoint) == Budget(2000, 400, 800, "local")


def test_a_structured_fallback_heals_after_a_while(monkeypatch: pytest.MonkeyPatch) -> None:
    now = [1000.0]
    monkeypatch.setattr(endpoint_module.time, "monotonic", lambda: now[0])
    endpoint = Endpoint("qwen", counts_exact=False)
    assert endpoint.structured_modes("auto") == ("json_schema", "json_object", "prompt")
    endpoint.structured_refused("json_schema")
    assert endpoint.structured_modes("auto") == ("json_object", "prompt")
    now[0] += STRUCTURED_RETRY_SECONDS + 1
    assert endpoint.structured_modes("auto")[0] == "json_schema"  # worth another try
    endpoint.structured_worked("json_schema")
    now[0] += 1
    assert endpoint.structured_modes("auto")[0] == "json_schema"
    assert endpoint.structured_modes("json_object") == ("json_object",)


def test_openai_gets_max_completion_tokens_and_a_set_parameter_stays() -> None:
    openai = Endpoints(None, "auto").of("o4-mini", counts_exact=True)
    assert openai.token_param == "max_completion_tokens"
    assert openai.schema_lengths is False  # its strict mode refuses maxLength
    local = Endpoints("http://localhost:8081/v1", "auto").of("local", counts_exact=False)
    assert (local.token_param, local.token_param_switchable) == ("max_tokens", True)
    fixed = Endpoints(None, "max_tokens").of("gpt-4o", counts_exact=True)
    assert (fixed.token_param, fixed.token_param_switchable) == ("max_tokens", False)
    endpoints = Endpoints("http://localhost:8081/v1", "auto")
    assert endpoints.of("a", counts_exact=False) is endpoints.of("a", counts_exact=False)
    assert endpoints.of("a", counts_exact=False) is not endpoints.of("b", counts_exact=False)
