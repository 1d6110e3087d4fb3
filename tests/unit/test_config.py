"""Settings from TUTOR_* variables and .env, and one readable line when they are wrong."""

from __future__ import annotations

from pathlib import Path

import pytest

from service.config import (
    SettingsError,
    default_data_dir,
    ensure_data_dir,
    load_settings,
    normalise_database_url,
)


def test_defaults(tmp_path: Path) -> None:
    settings = load_settings()
    assert settings.data_dir == default_data_dir()
    assert settings.database == f"sqlite+aiosqlite:///{default_data_dir() / 'tutor.db'}"
    assert (settings.host, settings.port, settings.log_level) == ("127.0.0.1", 8000, "info")
    assert settings.llm.base_url is None
    assert settings.llm.api_key is None
    assert (settings.llm.timeout, settings.llm.max_retries) == (60.0, 2)
    assert not settings.llm.configured


def test_environment_variables_fill_nested_groups(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TUTOR_DATA_DIR", "/srv/tutor")
    monkeypatch.setenv("TUTOR_PORT", "9000")
    monkeypatch.setenv("TUTOR_LOG_LEVEL", "DEBUG")
    monkeypatch.setenv("TUTOR_LLM_BASE_URL", "http://localhost:11434/v1/")
    monkeypatch.setenv("TUTOR_LLM_MODEL", "qwen2.5:14b")
    monkeypatch.setenv("TUTOR_LLM_MAX_RETRIES", "5")
    settings = load_settings()
    assert settings.data_dir == Path("/srv/tutor")
    assert settings.database == "sqlite+aiosqlite:////srv/tutor/tutor.db"
    assert settings.port == 9000
    assert settings.log_level == "debug"
    assert settings.llm.base_url == "http://localhost:11434/v1"
    assert settings.llm.model == "qwen2.5:14b"
    assert settings.llm.max_retries == 5
    # Ollama needs no key: a base URL and a model are enough.
    assert settings.llm.configured


def test_dotenv_file_is_read(tmp_path: Path) -> None:
    (tmp_path / ".env").write_text("TUTOR_PORT=8123\nTUTOR_LLM_MODEL=gpt-4o-mini\n")
    settings = load_settings()
    assert settings.port == 8123
    assert settings.llm.model == "gpt-4o-mini"


def test_api_key_falls_back_to_openai_api_key(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OPENAI_API_KEY", "sk-from-openai")
    monkeypatch.setenv("TUTOR_LLM_MODEL", "gpt-4o-mini")
    settings = load_settings()
    assert settings.llm.api_key is not None
    assert settings.llm.api_key.get_secret_value() == "sk-from-openai"
    assert "sk-from-openai" not in repr(settings)
    assert settings.llm.configured

    monkeypatch.setenv("TUTOR_LLM_API_KEY", "")
    assert load_settings().llm.api_key.get_secret_value() == "sk-from-openai"  # type: ignore[union-attr]

    monkeypatch.setenv("TUTOR_LLM_API_KEY", "sk-tutor")
    assert load_settings().llm.api_key.get_secret_value() == "sk-tutor"  # type: ignore[union-attr]


@pytest.mark.parametrize(
    ("variable", "value"),
    [
        ("TUTOR_PORT", "eighty"),
        ("TUTOR_PORT", "70000"),
        ("TUTOR_LOG_LEVEL", "chatty"),
        ("TUTOR_LLM_TIMEOUT", "-1"),
        ("TUTOR_LLM_BASE_URL", "localhost:11434"),
        ("TUTOR_DATABASE_URL", "mysql://db/tutor"),
        ("TUTOR_DATABASE_URL", "tutor.db"),
    ],
)
def test_bad_setting_is_one_line_naming_the_variable(
    monkeypatch: pytest.MonkeyPatch, variable: str, value: str
) -> None:
    monkeypatch.setenv(variable, value)
    with pytest.raises(SettingsError) as caught:
        load_settings()
    message = str(caught.value)
    assert message.startswith(f"{variable}: ")
    assert "\n" not in message


@pytest.mark.parametrize(
    ("given", "expected"),
    [
        ("postgres://u:p@db/tutor", "postgresql+asyncpg://u:p@db/tutor"),
        ("postgresql://u@db:5432/tutor", "postgresql+asyncpg://u@db:5432/tutor"),
        ("postgresql+asyncpg://u@db/tutor", "postgresql+asyncpg://u@db/tutor"),
        ("sqlite:////var/lib/tutor.db", "sqlite+aiosqlite:////var/lib/tutor.db"),
    ],
)
def test_database_urls_get_the_async_driver(given: str, expected: str) -> None:
    assert normalise_database_url(given) == expected


def test_data_dir_is_created(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TUTOR_DATA_DIR", str(tmp_path / "a" / "b"))
    settings = load_settings()
    ensure_data_dir(settings)
    assert (tmp_path / "a" / "b").is_dir()


def test_unusable_data_dir_is_one_line(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("not a directory")
    monkeypatch.setenv("TUTOR_DATA_DIR", str(blocker / "data"))
    with pytest.raises(SettingsError, match=r"^TUTOR_DATA_DIR: cannot create"):
        ensure_data_dir(load_settings())


def test_limit_defaults_and_variables(monkeypatch: pytest.MonkeyPatch) -> None:
    defaults = load_settings()
    assert (
        defaults.rate_limit_per_minute,
        defaults.daily_token_quota,
        defaults.max_concurrent_streams,
        defaults.redis_url,
    ) == (30, 500_000, 3, None)
    monkeypatch.setenv("TUTOR_RATE_LIMIT_PER_MINUTE", "10")
    monkeypatch.setenv("TUTOR_DAILY_TOKEN_QUOTA", "0")
    monkeypatch.setenv("TUTOR_MAX_CONCURRENT_STREAMS", "1")
    monkeypatch.setenv("TUTOR_REDIS_URL", "redis://redis:6379/0")
    settings = load_settings()
    assert settings.rate_limit_per_minute == 10
    assert settings.daily_token_quota == 0
    assert settings.max_concurrent_streams == 1
    assert settings.redis_url == "redis://redis:6379/0"


def test_an_empty_redis_url_means_none_and_a_bad_one_is_named(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("TUTOR_REDIS_URL", "")
    assert load_settings().redis_url is None
    monkeypatch.setenv("TUTOR_REDIS_URL", "localhost:6379")
    with pytest.raises(SettingsError, match=r"^TUTOR_REDIS_URL: .*redis://"):
        load_settings()
    monkeypatch.setenv("TUTOR_REDIS_URL", "redis://localhost")
    monkeypatch.setenv("TUTOR_RATE_LIMIT_PER_MINUTE", "-1")
    with pytest.raises(SettingsError, match=r"^TUTOR_RATE_LIMIT_PER_MINUTE: "):
        load_settings()


def test_model_compatibility_settings(monkeypatch: pytest.MonkeyPatch) -> None:
    defaults = load_settings().llm
    # Unset: the server's own context decides (16000 where it says none).
    assert (defaults.context_tokens, defaults.token_param, defaults.reasoning_effort) == (
        None,
        "auto",
        None,
    )
    monkeypatch.setenv("TUTOR_LLM_CONTEXT_TOKENS", "8192")
    monkeypatch.setenv("TUTOR_LLM_TOKEN_PARAM", "max_completion_tokens")
    monkeypatch.setenv("TUTOR_LLM_REASONING_EFFORT", "low")
    llm = load_settings().llm
    assert (llm.context_tokens, llm.token_param, llm.reasoning_effort) == (
        8192,
        "max_completion_tokens",
        "low",
    )
    monkeypatch.setenv("TUTOR_LLM_CONTEXT_TOKENS", "")  # as compose files write "unset"
    assert load_settings().llm.context_tokens is None
    monkeypatch.setenv("TUTOR_LLM_TOKEN_PARAM", "max_new_tokens")
    with pytest.raises(SettingsError, match=r"^TUTOR_LLM_TOKEN_PARAM: "):
        load_settings()
