"""The container set-up: docker-compose.yml, .env.example and the Dockerfile wire Tutor
together.

No Docker engine is available where the tests run, so these parse the files and check
the wiring that `docker compose up` depends on. The settings are read off
service/config.py's `Settings`, so a new setting fails here until compose passes it and
.env.example lists it.
"""

from __future__ import annotations

import fnmatch
import json
import re
import shlex
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
import yaml
from pydantic import BaseModel
from sqlalchemy.engine import URL, make_url

from service.config import ENV_PREFIX, LLMSettings, Settings
from service.papers.files import papers_dir

ROOT = Path(__file__).resolve().parents[2]
LOCK = "requirements.lock"
# The containers that run Tutor, all built from this repository.
APP_SERVICES = ("migrate", "api", "scheduler")
# The ones that call the model.
MODEL_CALLERS = ("api", "scheduler")
ASYNC_POSTGRES_DRIVERS = {"postgresql+asyncpg", "postgresql+psycopg"}
ROOT_USERS = {"root", "0"}
# Inside a container loopback is unreachable from outside, so binding everywhere is the point.
ALL_INTERFACES = "0.0.0.0"  # noqa: S104

# --- the settings ---------------------------------------------------------------------

# Read by load_settings when TUTOR_LLM_API_KEY is unset (service/config.py).
OPENAI_API_KEY = "OPENAI_API_KEY"
# Fixed by the image and by docker-compose.yml, which say why in their comments.
FIXED_BY_THE_CONTAINER = {"TUTOR_DATA_DIR", "TUTOR_HOST", "TUTOR_PORT"}
# Given a value in docker-compose.yml: its own services, whatever the host's .env says;
# on every interface, for the scheduler's /metrics, like the API's `--host 0.0.0.0`.
SET_BY_COMPOSE = {"TUTOR_DATABASE_URL", "TUTOR_REDIS_URL", "TUTOR_SCHEDULER_METRICS_HOST"}


def setting_names() -> set[str]:
    """Every variable Tutor reads: each field of `Settings`, each field of a nested group
    as PREFIX_GROUP_FIELD (TUTOR_LLM_MODEL), and OPENAI_API_KEY."""
    delimiter = Settings.model_config["env_nested_delimiter"]
    assert delimiter
    names = {OPENAI_API_KEY}
    for name, field in Settings.model_fields.items():
        group = field.annotation
        if isinstance(group, type) and issubclass(group, BaseModel):
            names |= {
                f"{ENV_PREFIX}{name}{delimiter}{inner}".upper() for inner in group.model_fields
            }
        else:
            names.add(f"{ENV_PREFIX}{name}".upper())
    return names


def test_the_settings_are_read_off_the_settings_class() -> None:
    names = setting_names()
    assert {"TUTOR_DATABASE_URL", "TUTOR_DAILY_TOKEN_QUOTA", "TUTOR_LLM_MODEL_DISTILL"} <= names
    assert "TUTOR_LLM" not in names  # the group, not a setting
    assert names >= FIXED_BY_THE_CONTAINER | SET_BY_COMPOSE


# --- docker-compose.yml ---------------------------------------------------------------


def compose() -> dict[str, Any]:
    # safe_load resolves the x-tutor-common anchor and its `<<` merges.
    return yaml.safe_load((ROOT / "docker-compose.yml").read_text(encoding="utf-8"))


def service(name: str) -> dict[str, Any]:
    return compose()["services"][name]


def environment(spec: dict[str, Any]) -> dict[str, str | None]:
    """The environment as a mapping, whichever of compose's two syntaxes is used."""
    env = spec.get("environment") or {}
    if isinstance(env, dict):
        return env
    pairs = [item.split("=", 1) for item in env]
    return {pair[0]: pair[1] if len(pair) == 2 else None for pair in pairs}


def command(value: str | list[str]) -> list[str]:
    return shlex.split(value) if isinstance(value, str) else list(value)


def option(tokens: list[str], name: str) -> str | None:
    """The value of `--name value` or `--name=value` in a command line."""
    for index, token in enumerate(tokens):
        if token == name and index + 1 < len(tokens):
            return tokens[index + 1]
        if token.startswith(f"{name}="):
            return token.partition("=")[2]
    return None


def database_url(name: str) -> URL:
    return make_url(environment(service(name))["TUTOR_DATABASE_URL"])


def build_context(spec: dict[str, Any]) -> str:
    build = spec["build"]
    return build if isinstance(build, str) else build["context"]


def mounts(spec: dict[str, Any]) -> list[tuple[str, str]]:
    """(source, target) for each volume entry, short or long syntax."""
    pairs = []
    for entry in spec.get("volumes", []):
        if isinstance(entry, dict):
            pairs.append((entry["source"], entry["target"]))
        else:
            source, target = entry.split(":")[:2]
            pairs.append((source, target))
    return pairs


def probe_command(test: str | list[str]) -> list[str]:
    """A compose healthcheck `test` as the command line it runs."""
    tokens = command(test)
    if tokens[0] == "CMD":
        return tokens[1:]
    if tokens[0] == "CMD-SHELL":
        return shlex.split(tokens[1])
    return tokens


def published_ports(spec: dict[str, Any]) -> list[tuple[str | None, int]]:
    """(host port or range, container port) for each entry; None when no host port."""
    ports = []
    for entry in spec.get("ports", []):
        if isinstance(entry, dict):
            published = entry.get("published")
            ports.append((str(published) if published else None, int(entry["target"])))
            continue
        mapping = str(entry).split("/")[0]  # drop a /tcp or /udp suffix
        host, _, target = mapping.rpartition(":")
        host_port = host.rpartition(":")[2]  # drop a leading host IP
        ports.append((host_port or None, int(target)))
    return ports


def test_compose_has_db_redis_api_and_scheduler() -> None:
    assert {"db", "redis", "api", "scheduler"} <= compose()["services"].keys()


def test_db_is_postgres_16_on_a_named_volume() -> None:
    spec = compose()
    db = spec["services"]["db"]
    image, _, tag = db["image"].rpartition(":")
    assert image.rpartition("/")[2] == "postgres"
    assert tag.split("-")[0].split(".")[0] == "16"

    sources = [source for source, target in mounts(db) if target == "/var/lib/postgresql/data"]
    assert len(sources) == 1
    # Declared at the top level, so it is a named volume and not a host directory.
    assert sources[0] in (spec.get("volumes") or {})


def test_db_healthcheck_runs_pg_isready_for_its_own_user_and_database() -> None:
    db = service("db")
    healthcheck = db["healthcheck"]
    test = probe_command(healthcheck["test"])
    assert test[0] == "pg_isready"

    env = environment(db)
    assert option(test, "-U") == env["POSTGRES_USER"]
    assert option(test, "-d") == env["POSTGRES_DB"]
    assert healthcheck["interval"]
    assert healthcheck["retries"] >= 1


@pytest.mark.parametrize("name", APP_SERVICES)
def test_app_service_builds_this_repository(name: str) -> None:
    assert build_context(service(name)) in (".", "./")


@pytest.mark.parametrize("name", APP_SERVICES)
def test_app_service_uses_the_db_service_with_an_async_driver(name: str) -> None:
    url = database_url(name)
    db_env = environment(service("db"))
    assert url.drivername in ASYNC_POSTGRES_DRIVERS
    assert (url.host, url.port) == ("db", 5432)
    assert url.username == db_env["POSTGRES_USER"]
    assert url.password == db_env["POSTGRES_PASSWORD"]
    assert url.database == db_env["POSTGRES_DB"]


@pytest.mark.parametrize("name", APP_SERVICES)
def test_app_service_waits_for_a_healthy_db(name: str) -> None:
    assert service(name)["depends_on"]["db"]["condition"] == "service_healthy"


@pytest.mark.parametrize("name", APP_SERVICES)
def test_app_service_gets_every_setting_tutor_reads(name: str) -> None:
    env = environment(service(name))
    missing = setting_names() - FIXED_BY_THE_CONTAINER - env.keys()
    assert not missing, f"settings {name} never gets: {sorted(missing)}"
    # Nothing Tutor does not read (a setting renamed or removed), nothing the container fixes.
    unknown = env.keys() - (setting_names() - FIXED_BY_THE_CONTAINER)
    assert not unknown, f"{name} is given what Tutor does not read: {sorted(unknown)}"


def test_app_services_share_one_environment() -> None:
    shared = compose()["x-tutor-env"]
    for name in APP_SERVICES:
        assert environment(service(name)) == shared, name


def test_settings_come_from_the_host_unless_compose_sets_them() -> None:
    env = compose()["x-tutor-env"]
    # No value: the host's or .env's when set there, else unset and Tutor's default.
    assert {name for name, value in env.items() if value is not None} == SET_BY_COMPOSE


def test_the_settings_left_out_are_explained() -> None:
    text = (ROOT / "docker-compose.yml").read_text(encoding="utf-8")
    comments = "\n".join(line for line in text.splitlines() if line.lstrip().startswith("#"))
    for name in FIXED_BY_THE_CONTAINER:
        assert re.search(rf"#\s+{name}\s+\S", comments), name


@pytest.mark.parametrize("name", MODEL_CALLERS)
def test_model_callers_reach_a_model_server_on_the_host(name: str) -> None:
    hosts = service(name)["extra_hosts"]
    if isinstance(hosts, dict):
        hosts = [f"{host}:{address}" for host, address in hosts.items()]
    assert "host.docker.internal:host-gateway" in hosts


def test_migrations_run_once_before_the_api_and_the_scheduler() -> None:
    migrate = service("migrate")
    assert command(migrate["command"]) == ["tutor", "migrate"]
    # A one-shot: restarted, it would run again and again, and never count as completed.
    assert migrate["restart"] == "no"
    assert "ports" not in migrate
    assert migrate["healthcheck"]["disable"] is True
    for name in MODEL_CALLERS:
        condition = service(name)["depends_on"]["migrate"]["condition"]
        assert condition == "service_completed_successfully", name


def test_redis_is_7_with_a_ping_healthcheck() -> None:
    redis = service("redis")
    image, _, tag = redis["image"].rpartition(":")
    assert image.rpartition("/")[2] == "redis"
    assert tag.split("-")[0].split(".")[0] == "7"
    healthcheck = redis["healthcheck"]
    assert probe_command(healthcheck["test"])[:2] == ["redis-cli", "ping"]
    assert healthcheck["retries"] >= 1
    # Its port stays inside compose: nothing outside needs the counters.
    assert not redis.get("ports")


def test_api_shares_its_limits_through_the_redis_service() -> None:
    api = service("api")
    url = urlsplit(environment(api)["TUTOR_REDIS_URL"] or "")
    assert url.scheme == "redis"
    assert (url.hostname, url.port or 6379) == ("redis", 6379)
    assert api["depends_on"]["redis"]["condition"] == "service_healthy"
    # Overriding the environment must not lose what every app service gets.
    assert environment(api).keys() >= environment(service("scheduler")).keys()


@pytest.mark.parametrize("name", MODEL_CALLERS)
def test_the_limit_settings_reach_the_model_callers(name: str) -> None:
    # The scheduler too: auto-distillation waits while a learner's daily quota is spent.
    env = environment(service(name))
    limits = {
        "TUTOR_RATE_LIMIT_PER_MINUTE",
        "TUTOR_DAILY_TOKEN_QUOTA",
        "TUTOR_MAX_CONCURRENT_STREAMS",
    }
    assert limits <= env.keys()
    assert all(env[name] is None for name in limits)  # from the host, or the defaults


def test_api_serves_on_all_interfaces() -> None:
    tokens = command(service("api")["command"])
    assert tokens[:2] == ["tutor", "serve"]
    assert option(tokens, "--host") == ALL_INTERFACES


def test_api_can_be_scaled() -> None:
    api = service("api")
    assert "container_name" not in api
    ports = published_ports(api)
    assert ports
    for host_port, target in ports:
        # A fixed host port would let only the first replica start.
        assert host_port is None or "-" in host_port
        assert target == exposed_port()


def test_scheduler_runs_alone() -> None:
    scheduler = service("scheduler")
    assert command(scheduler["command"]) == ["tutor", "scheduler"]
    assert scheduler["deploy"]["replicas"] == 1
    assert scheduler.get("scale", 1) == 1


def test_scheduler_skips_the_images_http_health_check() -> None:
    assert service("scheduler")["healthcheck"]["disable"] is True


# --- Dockerfile -----------------------------------------------------------------------


def dockerfile() -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments) pairs: comments dropped, continuation lines joined."""
    instructions, pending = [], ""
    for raw in (ROOT / "Dockerfile").read_text(encoding="utf-8").splitlines():
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        if line.endswith("\\"):
            pending += line[:-1] + " "
            continue
        keyword, _, arguments = (pending + line).partition(" ")
        instructions.append((keyword.upper(), arguments.strip()))
        pending = ""
    return instructions


def final_stage() -> list[tuple[str, str]]:
    instructions = dockerfile()
    last_from = max(i for i, (keyword, _) in enumerate(instructions) if keyword == "FROM")
    return instructions[last_from:]


def arguments(stage: list[tuple[str, str]], keyword: str) -> list[str]:
    return [args for kw, args in stage if kw == keyword]


def exec_or_shell(args: str) -> list[str]:
    return json.loads(args) if args.startswith("[") else shlex.split(args)


def exposed_port() -> int:
    (port,) = arguments(final_stage(), "EXPOSE")
    return int(port.split("/")[0])


def test_dockerfile_builds_on_python_slim() -> None:
    stages: set[str] = set()
    for args in arguments(dockerfile(), "FROM"):
        tokens = [token for token in args.split() if not token.startswith("--")]
        image = tokens[0]
        if image not in stages:
            name, _, tag = image.partition(":")
            assert name == "python"
            assert "slim" in tag.split("-")
        if len(tokens) == 3 and tokens[1].lower() == "as":
            stages.add(tokens[2])


def test_dockerfile_runs_as_a_non_root_user() -> None:
    users = arguments(final_stage(), "USER")
    assert users
    assert users[-1].split(":")[0] not in ROOT_USERS


def pip_installs() -> list[list[str]]:
    """The arguments of every `pip install` the Dockerfile runs, in order."""
    installs = []
    for args in arguments(dockerfile(), "RUN"):
        for step in re.split(r"&&|;", args):
            _, pip_install, after = step.partition("pip install ")
            if pip_install:
                installs.append(shlex.split(after))
    return installs


def test_dockerfile_installs_the_package_itself() -> None:
    installs = pip_installs()
    assert any("." in install for install in installs)
    # An editable install would point at /src, which the runtime stage does not have.
    assert not any({"-e", "--editable"} & set(install) for install in installs)


def test_dockerfile_installs_the_lock_with_its_hashes_and_nothing_else() -> None:
    installs = pip_installs()
    locked = [i for i, install in enumerate(installs) if option(install, "-r") == LOCK]
    assert len(locked) == 1
    (lock_step,) = locked
    assert {"--require-hashes", "--no-deps"} <= set(installs[lock_step])
    (package_step,) = [i for i, install in enumerate(installs) if "." in install]
    # Tutor itself after the lock, resolving nothing: every dependency is the locked one.
    assert package_step > lock_step
    assert "--no-deps" in installs[package_step]
    assert len(installs) == 2, installs
    copied = [source for args in arguments(dockerfile(), "COPY") for source in args.split()[:-1]]
    assert LOCK in copied


def test_dockerignore_keeps_what_the_image_is_built_from() -> None:
    patterns = [
        line.strip()
        for line in (ROOT / ".dockerignore").read_text(encoding="utf-8").splitlines()
        if line.strip() and not line.startswith("#")
    ]
    copied = {
        source.rstrip("/")
        for args in arguments(dockerfile(), "COPY")
        if not args.startswith("--from")
        for source in args.split()[:-1]
    }
    assert {LOCK, "pyproject.toml", "LICENSE", "service"} <= copied
    for source in copied:
        assert not any(fnmatch.fnmatch(source, pattern) for pattern in patterns), source


def test_dockerfile_serves_on_all_interfaces() -> None:
    stage = final_stage()
    entrypoint = arguments(stage, "ENTRYPOINT")
    cmd = arguments(stage, "CMD")
    tokens = (exec_or_shell(entrypoint[-1]) if entrypoint else []) + exec_or_shell(cmd[-1])
    assert tokens[:2] == ["tutor", "serve"]
    assert option(tokens, "--host") == ALL_INTERFACES


def test_dockerfile_healthcheck_probes_healthz_with_python() -> None:
    (healthcheck,) = arguments(final_stage(), "HEALTHCHECK")
    probe = re.fullmatch(r"(?:--\S+\s+)*CMD\s+(.+)", healthcheck)
    assert probe is not None
    tokens = exec_or_shell(probe.group(1))
    assert tokens[:2] == ["python", "-c"]
    assert f"http://127.0.0.1:{exposed_port()}/healthz" in tokens[2]
    compile(tokens[2], "<healthcheck>", "exec")


def image_environment() -> dict[str, str]:
    """The final stage's ENV, as a mapping."""
    return dict(
        item.partition("=")[::2]
        for args in arguments(final_stage(), "ENV")
        for item in shlex.split(args)
    )


def test_dockerfile_keeps_the_data_dir_on_a_volume() -> None:
    volumes = [path for args in arguments(final_stage(), "VOLUME") for path in exec_or_shell(args)]
    assert image_environment()["TUTOR_DATA_DIR"] in volumes


def test_api_replicas_share_the_papers_files_on_a_named_volume() -> None:
    # Where the service keeps them, under the image's data dir.
    data_dir = image_environment()["TUTOR_DATA_DIR"]
    papers = papers_dir(Settings(_env_file=None, data_dir=Path(data_dir))).as_posix()
    spec = compose()
    sources = [source for source, target in mounts(service("api")) if target == papers]
    assert len(sources) == 1, f"the api service mounts no volume at {papers}"
    assert sources[0] in (spec.get("volumes") or {})  # named, not a host directory
    # The image makes the folder and gives it to its user, so a new volume starts writable.
    runs = " ".join(args for args in arguments(final_stage(), "RUN"))
    assert re.search(rf"mkdir -p {re.escape(papers)}\b", runs)
    assert re.search(rf"chown -R tutor:tutor {re.escape(data_dir)}\b", runs)


# --- stopping -------------------------------------------------------------------------

# uvicorn's grace for other requests, beyond the streams' (service/cli/serving.py).
REQUEST_GRACE_BEYOND_STREAMS = 3
# Saving what was cut, closing the pools, exiting.
SAVE_SECONDS = 5
# A batch of drafts is a structured answer: the answer and at most one repair
# (service/llm/openai_compatible.py, `structured`). Refusals of a JSON format come back
# at once, so the forms tried in between add no wait.
STRUCTURED_ROUNDS = 2
# The slowest model worth waiting for writes about this fast: a CPU-bound local one.
SLOWEST_TOKENS_PER_SECOND = 25
_DURATION = re.compile(r"(\d+(?:\.\d+)?)(h|ms|m|s|us)")
_UNIT_SECONDS = {"h": 3600.0, "m": 60.0, "s": 1.0, "ms": 1e-3, "us": 1e-6}


def seconds(duration: str) -> float:
    """A compose duration (`20s`, `1m30s`) in seconds."""
    parts = _DURATION.findall(duration)
    assert parts
    assert "".join(number + unit for number, unit in parts) == duration
    return sum(float(number) * _UNIT_SECONDS[unit] for number, unit in parts)


def test_durations_are_read_as_compose_writes_them() -> None:
    assert seconds("20s") == 20
    assert seconds("1m30s") == 90
    assert seconds("5m") == 300


def test_api_stops_after_its_shutdown_grace_period() -> None:
    api = service("api")
    # Streams get the grace, other requests a little more, then what was cut is saved.
    longest = Settings().shutdown_grace_seconds + REQUEST_GRACE_BEYOND_STREAMS + SAVE_SECONDS
    assert seconds(api["stop_grace_period"]) >= longest
    assert "TUTOR_SHUTDOWN_GRACE_SECONDS" in environment(api)


def test_scheduler_stops_after_its_longest_model_call() -> None:
    # SIGTERM lets a running job finish (service/worker/main.py); compose then SIGKILLs.
    # TUTOR_LLM_TIMEOUT bounds the wait for an answer to start, retries and their waits
    # included (service/llm/sending.py), so the attempts do not multiply it; then the
    # answer is written, a piece at most TUTOR_LLM_TIMEOUT after the last.
    llm = LLMSettings()
    one_round = llm.timeout + llm.max_output_tokens / SLOWEST_TOKENS_PER_SECOND
    longest = STRUCTURED_ROUNDS * one_round + SAVE_SECONDS
    assert seconds(service("scheduler")["stop_grace_period"]) >= longest


# --- .env.example ---------------------------------------------------------------------

_EXAMPLE_LINE = re.compile(r"^# ([A-Z][A-Z0-9_]*)=(.*)$")


def env_example() -> list[str]:
    return (ROOT / ".env.example").read_text(encoding="utf-8").splitlines()


def test_env_example_names_every_setting_once() -> None:
    named = [found.group(1) for line in env_example() if (found := _EXAMPLE_LINE.match(line))]
    assert len(named) == len(set(named)), "a setting is named twice"
    assert set(named) == setting_names()


def test_env_example_sets_nothing_until_a_line_is_uncommented() -> None:
    # Copied as it is, it changes nothing: Tutor's defaults hold.
    assert all(not line.strip() or line.startswith("#") for line in env_example())


def test_env_example_shows_the_defaults(monkeypatch: pytest.MonkeyPatch) -> None:
    defaults = Settings().model_dump()
    shown = [found.groups() for line in env_example() if (found := _EXAMPLE_LINE.match(line))]
    for name, value in shown:
        if value:
            monkeypatch.setenv(name, value)
    # Every line uncommented as it stands (empty ones are unset) changes no setting.
    assert Settings().model_dump() == defaults
    assert any(value for _, value in shown)
