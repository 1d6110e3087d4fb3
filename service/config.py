"""Settings: one pydantic-settings class, read from `TUTOR_*` variables and `.env`."""

from __future__ import annotations

import importlib
import os
from pathlib import Path
from typing import Annotated, Literal

import platformdirs
from pydantic import (
    BaseModel,
    Field,
    SecretStr,
    ValidationError,
    field_validator,
)
from pydantic_settings import BaseSettings, SettingsConfigDict

ENV_PREFIX = "TUTOR_"
LogLevel = Literal["critical", "error", "warning", "info", "debug"]


class SettingsError(Exception):
    """Settings that cannot work; the message is one line naming the variable."""


# judge: the evaluation's judge (`tutor eval`), never called while serving learners.
Purpose = Literal["explain", "critique", "check", "distill", "studylog", "prerequisites", "judge"]


def _base_url(value: str) -> str:
    if not value.startswith(("http://", "https://")):
        raise ValueError("must start with http:// or https://")
    return value.rstrip("/")


class LLMSettings(BaseModel):
    """The OpenAI-compatible endpoint (`TUTOR_LLM_*`)."""

    base_url: str | None = None
    # Falls back to OPENAI_API_KEY so an existing OpenAI set-up works unchanged.
    api_key: SecretStr | None = None
    model: str | None = None
    # A bigger or cheaper model per purpose; each falls back to `model`.
    model_explain: str | None = None
    model_critique: str | None = None
    model_check: str | None = None
    model_distill: str | None = None
    model_studylog: str | None = None
    model_prerequisites: str | None = None
    model_judge: str | None = None
    timeout: Annotated[float, Field(gt=0)] = 60.0
    connect_timeout: Annotated[float, Field(gt=0)] = 5.0
    max_retries: Annotated[int, Field(ge=0, le=10)] = 2
    # Token budgets, as upper bounds: the whole prompt plus answer (unset: the server's
    # own context where it says it, else 16000), one answer, one pasted passage. A
    # smaller context scales the others down (service/llm/budget.py).
    context_tokens: Annotated[int, Field(ge=1000)] | None = None
    max_output_tokens: Annotated[int, Field(ge=16)] = 1_500
    max_passage_tokens: Annotated[int, Field(ge=16)] = 6_000
    # How to ask for JSON: auto tries json_schema, then json_object, then plain prompting.
    structured: Literal["auto", "json_schema", "json_object", "prompt"] = "auto"
    # The name the answer's token limit goes under; auto: max_completion_tokens on
    # OpenAI, max_tokens elsewhere, switched when a server refuses it.
    token_param: Literal["auto", "max_tokens", "max_completion_tokens"] = "auto"  # noqa: S105
    # Sent as `reasoning_effort` to reasoning models (OpenAI's o-series and gpt-5).
    reasoning_effort: Literal["minimal", "low", "medium", "high"] | None = None

    @field_validator(
        "base_url",
        "api_key",
        "model",
        "model_explain",
        "model_critique",
        "model_check",
        "model_distill",
        "model_studylog",
        "model_prerequisites",
        "model_judge",
        "context_tokens",
        "reasoning_effort",
        mode="before",
    )
    @classmethod
    def _empty_is_unset(cls, value: object) -> object:
        # `TUTOR_LLM_API_KEY=` (as compose files and .env templates write) means "not set".
        return None if isinstance(value, str) and not value.strip() else value

    @field_validator("base_url")
    @classmethod
    def _http_url(cls, value: str | None) -> str | None:
        return None if value is None else _base_url(value)

    def model_for(self, purpose: Purpose) -> str | None:
        specific: str | None = getattr(self, f"model_{purpose}")
        return specific or self.model

    @property
    def configured(self) -> bool:
        """A model to ask and somewhere to ask it (a base URL, or OpenAI with a key)."""
        return bool(self.model) and (self.base_url is not None or self.api_key is not None)


class ArxivSettings(BaseModel):
    """Fetching papers from arXiv by id (`TUTOR_ARXIV_*`): the only host fetched is
    `url`; a learner's input gives the paper's id, never where to fetch it from."""

    # Off: `POST /v1/sources` with an arXiv id is refused (409 arxiv_fetch_off); a PDF
    # can still be uploaded.
    fetch: bool = True
    # arXiv itself, or a mirror of its /e-print/ and /pdf/ paths (tests, air-gapped sites).
    url: str = "https://arxiv.org"
    # The whole download of one paper, connecting included, in seconds.
    timeout: Annotated[float, Field(gt=0, le=3600)] = 60.0
    # The most one download may be, in bytes (a paper's source or its PDF).
    max_bytes: Annotated[int, Field(ge=1024)] = 50 * 1024 * 1024

    @field_validator("url")
    @classmethod
    def _http_url(cls, value: str) -> str:
        return _base_url(value)


def default_data_dir() -> Path:
    return platformdirs.user_data_path("tutor", appauthor=False)


class Settings(BaseSettings):
    model_config = SettingsConfigDict(
        env_prefix=ENV_PREFIX,
        env_file=".env",
        env_file_encoding="utf-8",
        # TUTOR_LLM_BASE_URL -> llm.base_url: split once, after the group name.
        env_nested_delimiter="_",
        env_nested_max_split=1,
        extra="ignore",
    )

    data_dir: Path = Field(default_factory=default_data_dir)
    database_url: str | None = None
    # Connections each process keeps open (unset: 20 on SQLite, 10 on PostgreSQL); as
    # many again (twice as many on PostgreSQL) are opened for bursts. A request that finds
    # them all busy for `database_pool_timeout` seconds is answered 503 database_busy.
    database_pool_size: Annotated[int, Field(ge=1, le=500)] | None = None
    database_pool_timeout: Annotated[float, Field(gt=0, le=300)] = 10.0
    host: str = "127.0.0.1"
    port: Annotated[int, Field(ge=1, le=65535)] = 8000
    log_level: LogLevel = "info"
    llm: LLMSettings = Field(default_factory=LLMSettings)
    arxiv: ArxivSettings = Field(default_factory=ArxivSettings)
    # A session idle this long with new content is distilled into drafts by the scheduler.
    autodistill_idle_hours: Annotated[float, Field(gt=0)] = 2.0
    # Where learners reach Tutor, for links in reminders; default http://HOST:PORT/.
    public_url: str | None = None
    # Reminder webhooks to loopback, private or link-local addresses are refused unless set.
    allow_private_webhooks: bool = False
    # Per-learner limits on the endpoints that call the model; 0 turns one off.
    rate_limit_per_minute: Annotated[int, Field(ge=0)] = 30
    daily_token_quota: Annotated[int, Field(ge=0)] = 500_000
    max_concurrent_streams: Annotated[int, Field(ge=0)] = 3
    # Without Redis the counters live in the process, so each API replica counts alone.
    redis_url: str | None = None
    redis_key_prefix: str = "tutor:"
    # On SIGTERM, streamed answers get this long to finish before they are cut and saved
    # as `interrupted`; other requests get a little longer (see `tutor serve`).
    shutdown_grace_seconds: Annotated[float, Field(ge=0, le=600)] = 10.0
    # Where `tutor scheduler` serves its own /metrics; 0 or empty: not at all. Loopback,
    # like TUTOR_HOST: a container sets 0.0.0.0 so its Prometheus can reach it.
    scheduler_metrics_host: str = "127.0.0.1"
    scheduler_metrics_port: Annotated[int, Field(ge=0, le=65535)] | None = 9464

    @field_validator("scheduler_metrics_port", mode="before")
    @classmethod
    def _port_off(cls, value: object) -> object:
        if isinstance(value, str) and not value.strip():
            return None  # `TUTOR_SCHEDULER_METRICS_PORT=`, as .env templates write it
        return None if value in (0, "0") else value

    @field_validator("log_level", mode="before")
    @classmethod
    def _lowercase(cls, value: object) -> object:
        return value.lower() if isinstance(value, str) else value

    @field_validator("redis_url", mode="before")
    @classmethod
    def _redis_url(cls, value: object) -> object:
        if isinstance(value, str) and not value.strip():
            return None  # `TUTOR_REDIS_URL=` means "no Redis", as compose files write it
        if isinstance(value, str) and not value.startswith(("redis://", "rediss://", "unix://")):
            raise ValueError("must start with redis://, rediss:// or unix://")
        return value

    @field_validator("database_url")
    @classmethod
    def _async_driver(cls, value: str | None) -> str | None:
        return normalise_database_url(value) if value else None

    @property
    def reminder_link(self) -> str:
        if self.public_url:
            return self.public_url.rstrip("/") + "/"
        host = "localhost" if self.host in ("0.0.0.0", "::") else self.host  # noqa: S104
        return f"http://{host}:{self.port}/"

    @property
    def database(self) -> str:
        """The database URL in force: the configured one or the SQLite file in data_dir."""
        return self.database_url or f"sqlite+aiosqlite:///{self.data_dir / 'tutor.db'}"


class _OpenAIEnvironment(BaseSettings):
    model_config = SettingsConfigDict(env_file=".env", extra="ignore")
    openai_api_key: SecretStr | None = None


def normalise_database_url(url: str) -> str:
    """Accept the URLs people paste (postgres://, sqlite:///) and pick the async driver."""
    scheme, sep, rest = url.partition("://")
    if not sep:
        raise ValueError("must be a URL such as sqlite:///path/tutor.db or postgresql://host/db")
    drivers = {
        "postgres": "postgresql+asyncpg",
        "postgresql": "postgresql+asyncpg",
        "sqlite": "sqlite+aiosqlite",
    }
    if scheme in drivers:
        return f"{drivers[scheme]}://{rest}"
    if scheme in ("postgresql+asyncpg", "sqlite+aiosqlite"):
        return url
    raise ValueError(f"unsupported database {scheme!r}: use postgresql:// or sqlite://")


def _variable_name(location: tuple[int | str, ...]) -> str:
    return ENV_PREFIX + "_".join(str(part) for part in location).upper()


def load_settings() -> Settings:
    """Read the settings, or raise SettingsError with one readable line."""
    try:
        settings = Settings()
    except ValidationError as exc:
        first = exc.errors()[0]
        name = _variable_name(first["loc"])
        raise SettingsError(f"{name}: {first['msg']} (got {first.get('input')!r})") from None
    if settings.llm.api_key is None:
        fallback = _OpenAIEnvironment().openai_api_key
        if fallback is not None:
            settings.llm.api_key = fallback
    _require_drivers(settings)
    return settings


def _require_drivers(settings: Settings) -> None:
    """The drivers a configured backend needs come in extras (pyproject.toml); without
    them the first use would be an ImportError deep in a request or a job."""
    if settings.database.startswith("postgresql+asyncpg://"):
        _require_extra("asyncpg", extra="postgres", variable="TUTOR_DATABASE_URL")
    if settings.redis_url is not None:
        _require_extra("redis", extra="redis", variable="TUTOR_REDIS_URL")


def _require_extra(module: str, *, extra: str, variable: str) -> None:
    try:
        importlib.import_module(module)
    except ImportError as exc:
        raise SettingsError(
            f"{variable}: needs the {extra} extra, which is not installed ({exc}): "
            f"pip install 'tutor-service[{extra}]'"
        ) from None


def ensure_data_dir(settings: Settings) -> None:
    try:
        settings.data_dir.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise SettingsError(
            f"TUTOR_DATA_DIR: cannot create {settings.data_dir} ({exc.strerror})"
        ) from None
    if not os.access(settings.data_dir, os.W_OK):
        raise SettingsError(f"TUTOR_DATA_DIR: {settings.data_dir} is not writable")
