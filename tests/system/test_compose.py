"""The container set-up: docker-compose.yml and the Dockerfile wire Tutor together.

No Docker engine is available where the tests run, so these parse the files and check
the wiring that `docker compose up` depends on.
"""

from __future__ import annotations

import json
import re
import shlex
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
import yaml
from sqlalchemy.engine import URL, make_url

ROOT = Path(__file__).resolve().parents[2]
APP_SERVICES = ("api", "scheduler")
ASYNC_POSTGRES_DRIVERS = {"postgresql+asyncpg", "postgresql+psycopg"}
ROOT_USERS = {"root", "0"}
# Inside a container loopback is unreachable from outside, so binding everywhere is the point.
ALL_INTERFACES = "0.0.0.0"  # noqa: S104

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
def test_app_service_gets_the_model_settings(name: str) -> None:
    env = environment(service(name))
    assert {"TUTOR_LLM_BASE_URL", "TUTOR_LLM_API_KEY", "TUTOR_LLM_MODEL"} <= env.keys()


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


def test_api_passes_the_limit_settings_through() -> None:
    env = environment(service("api"))
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


def test_dockerfile_installs_the_package_itself() -> None:
    installs = []
    for args in arguments(dockerfile(), "RUN"):
        for step in re.split(r"&&|;", args):
            _, pip_install, after = step.partition("pip install ")
            if pip_install:
                installs.append(shlex.split(after))
    assert any("." in install for install in installs)
    # An editable install would point at /src, which the runtime stage does not have.
    assert not any({"-e", "--editable"} & set(install) for install in installs)


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


def test_dockerfile_keeps_the_data_dir_on_a_volume() -> None:
    stage = final_stage()
    env = dict(
        item.partition("=")[::2] for args in arguments(stage, "ENV") for item in shlex.split(args)
    )
    volumes = [path for args in arguments(stage, "VOLUME") for path in exec_or_shell(args)]
    assert env["TUTOR_DATA_DIR"] in volumes


def test_api_stops_after_its_shutdown_grace_period() -> None:
    api = service("api")
    grace = api["stop_grace_period"]
    assert grace.endswith("s")
    # Streams get 10 s by default, other requests 3 s more, then the saves: under 20 s.
    assert float(grace.removesuffix("s")) >= 10 + 3 + 5
    assert "TUTOR_SHUTDOWN_GRACE_SECONDS" in environment(api)
