"""Static checks of the Docker deployment: docker-compose.yml, the Dockerfile, .dockerignore.

There is no Docker engine in CI, so these tests read the files and check what `docker compose`
would otherwise only tell at start-up: dependencies that point nowhere, volumes that are not
declared, Herald settings that do not exist, literal secrets, floating image tags, ports that
disagree with docs/DEPLOY.md.
"""

from __future__ import annotations

import importlib
import json
import os
import re
import shlex
import tomllib
from collections.abc import Mapping
from fnmatch import fnmatch
from pathlib import Path
from typing import Any

import pytest
import yaml
from pydantic import SecretStr
from sqlalchemy.engine import make_url

from herald.settings import Settings

ROOT = Path(__file__).resolve().parents[1]
COMPOSE_FILE = ROOT / "docker-compose.yml"
DOCKERFILE = ROOT / "Dockerfile"
DOCKERIGNORE = ROOT / ".dockerignore"
DEPLOY_DOC = ROOT / "docs" / "DEPLOY.md"

EXPECTED_SERVICES = {
    "postgresql",
    "temporal",
    "temporal-ui",
    "herald-setup",
    "herald-worker",
    "herald-api",
}
HERALD_SERVICES = ("herald-setup", "herald-worker", "herald-api")
# What the API alone is given, on top of the shared environment: the browser's doors.
API_ONLY_VARS = {
    "HERALD_SUBSCRIBER_TOKEN_SECRET": "subscriber_token_secret",
    "HERALD_CORS_ORIGINS": "cors_origins",
}
# Temporal's own variable names, which Herald reads unprefixed (herald/settings.py).
TEMPORAL_VARS = {"TEMPORAL_ADDRESS": "temporal_address", "TEMPORAL_NAMESPACE": "temporal_namespace"}
# What a production worker cannot do without (the defaults point at localhost or the outbox).
PRODUCTION_FIELDS = {
    "temporal_address",
    "temporal_namespace",
    "task_queue",
    "database_url",
    "email_provider",
    "smtp_host",
    "email_from",
}
# Published host ports, as documented in docs/DEPLOY.md.
TEMPORAL_HOST_PORT, TEMPORAL_CONTAINER_PORT = 7233, 7233
UI_HOST_PORT, UI_CONTAINER_PORT = 8233, 8080
API_HOST_PORT, API_CONTAINER_PORT = 8080, 8080

VALID_CONDITIONS = {"service_started", "service_healthy", "service_completed_successfully"}
ONE_SHOT_RESTARTS = re.compile(r"^(no|on-failure(:\d+)?)$")
SECRET_KEY = re.compile(r"PASSWORD|PWD|SECRET|TOKEN|API_KEY", re.IGNORECASE)


# --- Compose interpolation ------------------------------------------------------------------

_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")


def interpolate(value: str, env: Mapping[str, str] | None = None) -> str:
    """Resolve Compose `${...}` interpolation the way `docker compose` does.

    Supports `$$`, `$VAR`, `${VAR}`, `${VAR:-default}`, `${VAR-default}`, `${VAR:?err}`,
    `${VAR?err}`, `${VAR:+alt}`, `${VAR+alt}`, nested in the default. With no `env`, every
    variable is unset, so each expression falls back to its default.
    """
    env = {} if env is None else env
    out: list[str] = []
    i = 0
    while i < len(value):
        char = value[i]
        if char != "$":
            out.append(char)
            i += 1
            continue
        nxt = value[i + 1 : i + 2]
        if nxt == "$":
            out.append("$")
            i += 2
        elif nxt == "{":
            depth, j = 1, i + 2
            while j < len(value) and depth:
                if value[j] == "{":
                    depth += 1
                elif value[j] == "}":
                    depth -= 1
                j += 1
            if depth:
                raise ValueError(f"unterminated interpolation in {value!r}")
            out.append(_expand(value[i + 2 : j - 1], env))
            i = j
        elif match := _NAME.match(value, i + 1):
            out.append(env.get(match.group(), ""))
            i = match.end()
        else:
            out.append("$")
            i += 1
    return "".join(out)


def _expand(expr: str, env: Mapping[str, str]) -> str:
    match = _NAME.match(expr)
    if not match:
        raise ValueError(f"invalid interpolation ${{{expr}}}")
    name, rest = match.group(), expr[match.end() :]
    is_set = name in env
    current = env.get(name, "")
    if not rest:
        return current
    for op in (":-", ":?", ":+", "-", "?", "+"):
        if rest.startswith(op):
            arg = rest[len(op) :]
            break
    else:
        raise ValueError(f"unsupported interpolation ${{{expr}}}")
    usable = bool(current) if op.startswith(":") else is_set
    if op in (":-", "-"):
        return current if usable else interpolate(arg, env)
    if op in (":?", "?"):
        if not usable:
            raise ValueError(f"required variable {name} is missing: {interpolate(arg, env)}")
        return current
    return interpolate(arg, env) if usable else ""


class _Recorder(dict[str, str]):
    """An empty environment that remembers which variables were looked up."""

    def __init__(self) -> None:
        super().__init__()
        self.seen: set[str] = set()

    def __contains__(self, name: object) -> bool:
        self.seen.add(str(name))
        return False

    def get(self, name: str, default: Any = None) -> Any:
        self.seen.add(name)
        return default


def referenced_variables(value: str) -> set[str]:
    """Variables an interpolated value reads (with everything unset, so defaults are walked)."""
    recorder = _Recorder()
    interpolate(value, recorder)
    return recorder.seen


# --- Helpers ----------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def compose() -> dict[str, Any]:
    data = yaml.safe_load(COMPOSE_FILE.read_text())
    assert isinstance(data, dict)
    return data


@pytest.fixture(scope="module")
def services(compose: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return compose["services"]


def environment(service: dict[str, Any]) -> dict[str, str]:
    env = service.get("environment") or {}
    if isinstance(env, list):
        env = dict(item.split("=", 1) if "=" in item else (item, "") for item in env)
    return {key: "" if value is None else str(value) for key, value in env.items()}


def depends_on(service: dict[str, Any]) -> dict[str, str]:
    deps = service.get("depends_on") or {}
    if isinstance(deps, list):
        return {name: "service_started" for name in deps}
    return {name: (spec or {}).get("condition", "service_started") for name, spec in deps.items()}


def parse_port(spec: Any) -> tuple[str, int, int]:
    """(host ip, host port, container port) of a `ports:` entry, short or long syntax."""
    if isinstance(spec, dict):
        return spec.get("host_ip", ""), int(spec["published"]), int(spec["target"])
    parts = interpolate(str(spec)).split("/")[0].split(":")
    if len(parts) == 3:
        return parts[0], int(parts[1]), int(parts[2])
    if len(parts) == 2:
        return "", int(parts[0]), int(parts[1])
    raise AssertionError(f"port {spec!r} is not published on a fixed host port")


def volume_mounts(service: dict[str, Any]) -> list[tuple[str, str, str]]:
    """(type, source, target) of each mount; type is volume, bind or anonymous."""
    mounts = []
    for spec in service.get("volumes") or []:
        if isinstance(spec, dict):
            kind, source, target = (
                spec.get("type", "volume"),
                spec.get("source", ""),
                spec["target"],
            )
        else:
            parts = str(spec).split(":")
            if len(parts) == 1:
                mounts.append(("anonymous", "", parts[0]))
                continue
            source, target = parts[0], parts[1]
            kind = "bind" if source.startswith((".", "/", "~")) else "volume"
        if kind == "volume" and not source:
            kind = "anonymous"
        mounts.append((kind, source, target))
    return mounts


def healthcheck_command(service: dict[str, Any]) -> list[str]:
    test = (service.get("healthcheck") or {}).get("test")
    if isinstance(test, str):
        return shlex.split(test)
    assert isinstance(test, list) and test, "healthcheck without a test"
    if test[0] == "CMD":
        return test[1:]
    if test[0] == "CMD-SHELL":
        return shlex.split(" ".join(test[1:]))
    raise AssertionError(f"unexpected healthcheck test {test!r}")


def image_tag(image: str) -> str | None:
    name = image.split("@")[0]
    last = name.rsplit("/", 1)[-1]
    return last.split(":", 1)[1] if ":" in last else None


def dockerfile_instructions() -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments) with line continuations joined and comments dropped."""
    instructions: list[tuple[str, str]] = []
    buffer = ""
    for raw in DOCKERFILE.read_text().splitlines():
        line = raw.strip()
        if not buffer and (not line or line.startswith("#")):
            continue
        if line.startswith("#"):
            continue
        if line.endswith("\\"):
            buffer += line[:-1] + " "
            continue
        full = (buffer + line).strip()
        buffer = ""
        keyword, _, args = full.partition(" ")
        instructions.append((keyword.upper(), args.strip()))
    return instructions


def final_stage(instructions: list[tuple[str, str]]) -> list[tuple[str, str]]:
    last_from = max(i for i, (keyword, _) in enumerate(instructions) if keyword == "FROM")
    return instructions[last_from:]


def resolved_base_images() -> list[str]:
    instructions = dockerfile_instructions()
    args: dict[str, str] = {}
    images = []
    for keyword, value in instructions:
        if keyword == "ARG" and "=" in value:
            name, default = value.split("=", 1)
            args.setdefault(name.strip(), default.strip().strip('"'))
        elif keyword == "FROM":
            words = [w for w in value.split() if not w.startswith("--")]
            images.append(interpolate(words[0], args))
    return images


# boto3's own standard variables, read by the SES and SNS providers through boto3.
AWS_VARS = {
    "AWS_REGION",
    "AWS_DEFAULT_REGION",
    "AWS_ACCESS_KEY_ID",
    "AWS_SECRET_ACCESS_KEY",
    "AWS_SESSION_TOKEN",
    "AWS_ENDPOINT_URL_SESV2",
    "AWS_ENDPOINT_URL_SNS",
}


def herald_env(services: dict[str, dict[str, Any]]) -> dict[str, str]:
    """The worker's Herald and Temporal settings (boto3's AWS_* variables checked apart)."""
    return {k: v for k, v in environment(services["herald-worker"]).items() if k not in AWS_VARS}


def test_aws_variables_are_boto3_standard_ones_and_secrets_are_interpolated(
    services: dict[str, dict[str, Any]],
) -> None:
    env = environment(services["herald-worker"])
    aws = {k: v for k, v in env.items() if k.startswith("AWS_")}
    assert aws and set(aws) <= AWS_VARS
    assert aws["AWS_SECRET_ACCESS_KEY"].startswith("${") and aws["AWS_ACCESS_KEY_ID"].startswith(
        "${"
    )


def setting_field(var: str) -> str:
    if var in TEMPORAL_VARS:
        return TEMPORAL_VARS[var]
    assert var.startswith("HERALD_"), f"{var} is neither HERALD_* nor a Temporal variable"
    return var.removeprefix("HERALD_").lower()


# --- The interpolation helper itself ----------------------------------------------------------


def test_interpolate_follows_compose_rules() -> None:
    assert interpolate("${A:-x}") == "x"
    assert interpolate("${A:-x}", {"A": "a"}) == "a"
    assert interpolate("${A:-x}", {"A": ""}) == "x"
    assert interpolate("${A-x}", {"A": ""}) == ""
    assert interpolate("${A:-}") == ""
    assert interpolate("u:${P:-p}@h/${D:-${E:-e}}") == "u:p@h/e"
    assert interpolate("$$HOME and $A.", {"A": "a"}) == "$HOME and a."
    assert interpolate("${A:+yes}", {"A": "1"}) == "yes"
    assert interpolate("${A:+yes}") == ""
    with pytest.raises(ValueError):
        interpolate("${A:?set A}")
    assert referenced_variables("x${A:-${B}}$C$$D") == {"A", "B", "C"}


# --- Structure --------------------------------------------------------------------------------


def test_compose_specification_without_version(compose: dict[str, Any]) -> None:
    assert "version" not in compose, "the Compose Specification has no top-level version"
    missing = EXPECTED_SERVICES - set(compose["services"])
    assert not missing, f"services missing: {sorted(missing)}"


def test_dependencies_exist_and_conditions_hold(services: dict[str, dict[str, Any]]) -> None:
    for name, service in services.items():
        for target, condition in depends_on(service).items():
            assert target in services, f"{name} depends on undefined service {target}"
            assert condition in VALID_CONDITIONS, f"{name} -> {target}: bad condition {condition}"
            dependency = services[target]
            if condition == "service_healthy":
                check = dependency.get("healthcheck") or {}
                assert check.get("test") and not check.get("disable"), (
                    f"{name} waits for {target} to be healthy, but {target} has no healthcheck"
                )
            if condition == "service_completed_successfully":
                assert dependency.get("command"), f"{target} must be a one-shot job with a command"
                restart = str(dependency.get("restart", "no"))
                assert ONE_SHOT_RESTARTS.match(restart), (
                    f"{name} waits for {target} to exit, but {target} restarts {restart!r}"
                )


def test_dependency_graph_has_no_cycle(services: dict[str, dict[str, Any]]) -> None:
    remaining = {name: set(depends_on(service)) for name, service in services.items()}
    while remaining:
        ready = {name for name, deps in remaining.items() if not deps & remaining.keys()}
        assert ready, f"dependency cycle among {sorted(remaining)}"
        for name in ready:
            del remaining[name]


def test_start_order(services: dict[str, dict[str, Any]]) -> None:
    assert depends_on(services["temporal"])["postgresql"] == "service_healthy"
    assert depends_on(services["temporal-ui"])["temporal"] == "service_healthy"
    setup = depends_on(services["herald-setup"])
    assert setup["postgresql"] == "service_healthy"
    assert setup["temporal"] == "service_healthy"
    for name in ("herald-worker", "herald-api"):
        after = depends_on(services[name])
        assert after["herald-setup"] == "service_completed_successfully", name
        assert after["temporal"] == "service_healthy", name
        assert after["postgresql"] == "service_healthy", name
    # Search attributes live in a namespace: whatever creates it must have finished first.
    namespace_jobs = [
        name
        for name, service in services.items()
        if "DEFAULT_NAMESPACE" in environment(service) and service.get("command")
    ]
    for job in namespace_jobs:
        assert setup.get(job) == "service_completed_successfully"


def test_named_volumes_declared_and_used(compose: dict[str, Any]) -> None:
    declared = set(compose.get("volumes") or {})
    used = {
        source
        for service in compose["services"].values()
        for kind, source, _ in volume_mounts(service)
        if kind == "volume"
    }
    assert used, "PostgreSQL data must live in a named volume"
    assert used - declared == set(), f"named volumes not declared at top level: {used - declared}"
    assert declared - used == set(), f"declared volumes no service uses: {declared - used}"


def test_postgresql_data_is_persisted(services: dict[str, dict[str, Any]]) -> None:
    postgresql = services["postgresql"]
    mounts = {target: kind for kind, _, target in volume_mounts(postgresql)}
    # The image keeps its data in PGDATA=/var/lib/postgresql/data up to 17; from 18 on in
    # /var/lib/postgresql/MAJOR/docker, under a volume at /var/lib/postgresql
    # (docker-library/postgres PR #1259).
    major = int(re.match(r"\d+", image_tag(interpolate(postgresql["image"])) or "")[0])
    pgdata = environment(postgresql).get("PGDATA")
    expected = pgdata or ("/var/lib/postgresql" if major >= 18 else "/var/lib/postgresql/data")
    assert mounts.get(expected) == "volume", (
        f"PostgreSQL {major} data in {expected} is not persisted"
    )


def test_bind_mounts_exist_in_the_repository(services: dict[str, dict[str, Any]]) -> None:
    for name, service in services.items():
        for kind, source, _ in volume_mounts(service):
            if kind == "bind":
                assert (ROOT / source).exists(), f"{name} mounts missing {source}"


def test_scripts_run_by_jobs_are_mounted(services: dict[str, dict[str, Any]]) -> None:
    for name, service in services.items():
        command = service.get("command") or []
        for arg in command if isinstance(command, list) else shlex.split(command):
            for kind, source, target in volume_mounts(service):
                if kind == "bind" and arg.startswith(target.rstrip("/") + "/"):
                    host_file = ROOT / source / arg[len(target.rstrip("/")) + 1 :]
                    assert host_file.is_file(), f"{name} runs {arg}, missing {host_file}"
                    break
            else:
                assert not arg.startswith("/scripts/"), f"{name} runs unmounted {arg}"


# --- Herald services ---------------------------------------------------------------------------


def test_herald_services_build_this_repository(services: dict[str, dict[str, Any]]) -> None:
    for name in HERALD_SERVICES:
        build = services[name].get("build")
        context = build.get("context") if isinstance(build, dict) else build
        assert context == ".", f"{name} must build the repository's Dockerfile"
        assert "image" not in services[name] or services[name]["image"].startswith("herald")
    assert DOCKERFILE.is_file()


def test_herald_commands(services: dict[str, dict[str, Any]]) -> None:
    setup, worker = services["herald-setup"], services["herald-worker"]
    assert setup["command"] == ["herald", "setup"]
    assert str(setup["restart"]) == "no"
    assert worker["command"] == ["herald", "worker"]
    assert worker["restart"] == "unless-stopped"
    assert worker["healthcheck"]["test"] == ["CMD", "herald", "doctor"]
    api = services["herald-api"]
    command = api["command"]
    assert command[:2] == ["herald", "api"]
    # Reachable from the published port: bound on every interface of the container, on
    # the port the mapping targets.
    assert command[command.index("--host") + 1] == "0.0.0.0"
    assert int(command[command.index("--port") + 1]) == API_CONTAINER_PORT
    assert api["restart"] == "unless-stopped"
    check = healthcheck_command(api)
    assert check[0] == "python" and f"127.0.0.1:{API_CONTAINER_PORT}/healthz" in " ".join(check)
    from starter.cli import build_parser

    parsed = build_parser().parse_args(command[1:])  # the CLI takes the compose command
    assert (parsed.host, parsed.port) == ("0.0.0.0", API_CONTAINER_PORT)


def test_herald_environment_is_shared_through_an_anchor(compose: dict[str, Any]) -> None:
    assert re.search(r"^x-herald-env: &herald-env$", COMPOSE_FILE.read_text(), re.MULTILINE)
    shared = {key: str(value) for key, value in compose["x-herald-env"].items()}
    for name in HERALD_SERVICES:
        env = environment(compose["services"][name])
        if name == "herald-api":
            env = {k: v for k, v in env.items() if k not in API_ONLY_VARS}
        assert env == shared, f"{name} drifted from x-herald-env"


def test_the_api_gets_the_browsers_settings_from_the_environment(
    services: dict[str, dict[str, Any]], monkeypatch: pytest.MonkeyPatch
) -> None:
    """The bell's token secret and the pages' origins reach herald-api, from .env or the
    shell only: no value in the file, and not the worker's business."""
    api = environment(services["herald-api"])
    for var, field in API_ONLY_VARS.items():
        assert var in api, f"herald-api is not given {var}"
        assert referenced_variables(api[var]) == {var}, f"{var} must come from {var} alone"
        assert interpolate(api[var]) == "", f"{var} has a default in the file"
        assert field in Settings.model_fields
        for name in ("herald-setup", "herald-worker"):
            assert var not in environment(services[name]), f"{name} needs no {var}"

    # Set in .env: the API's settings load them as the API would.
    secret = "s3cr3t-" + "x" * 40
    dotenv = {
        "HERALD_SUBSCRIBER_TOKEN_SECRET": secret,
        "HERALD_CORS_ORIGINS": "https://app.example.org,https://intranet.example.org",
    }
    for var in list(os.environ):
        if var.startswith(("HERALD_", "TEMPORAL_")):
            monkeypatch.delenv(var)
    for var, value in api.items():
        if var not in AWS_VARS:
            monkeypatch.setenv(var, interpolate(value, dotenv))
    settings = Settings()
    assert settings.subscriber_token_secret is not None
    assert settings.subscriber_token_secret.get_secret_value() == secret
    assert settings.cors_origins == ["https://app.example.org", "https://intranet.example.org"]

    # Left empty (the example file's value): unset, not a short secret refused at start.
    for var, value in api.items():
        if var not in AWS_VARS:
            monkeypatch.setenv(var, interpolate(value, {"HERALD_SUBSCRIBER_TOKEN_SECRET": ""}))
    settings = Settings()
    assert settings.subscriber_token_secret is None and settings.cors_origins == []

    # The example .env names both, with no secret in it; DEPLOY.md documents both.
    example = (ROOT / "deploy" / "env.example").read_text()
    assert re.search(r"^HERALD_SUBSCRIBER_TOKEN_SECRET=$", example, re.MULTILINE)
    assert re.search(r"^#?HERALD_CORS_ORIGINS=", example, re.MULTILINE)
    docs = DEPLOY_DOC.read_text()
    assert all(f"`{var}`" in docs for var in API_ONLY_VARS)


def test_herald_variables_are_real_settings(services: dict[str, dict[str, Any]]) -> None:
    fields = set(Settings.model_fields)
    for name in HERALD_SERVICES:
        for var in environment(services[name]):
            if var in AWS_VARS:
                continue  # boto3's own configuration, checked above
            assert setting_field(var) in fields, f"{name}: {var} is not a field of Settings"


def test_production_settings_are_set(services: dict[str, dict[str, Any]]) -> None:
    configured = {setting_field(var) for var in herald_env(services)}
    assert PRODUCTION_FIELDS - configured == set()
    env = {var: interpolate(value) for var, value in herald_env(services).items()}
    assert env["HERALD_EMAIL_PROVIDER"] == "smtp"
    assert env["TEMPORAL_NAMESPACE"]
    assert env["HERALD_TASK_QUEUE"]


def test_settings_load_from_the_compose_environment(
    services: dict[str, dict[str, Any]], monkeypatch: pytest.MonkeyPatch
) -> None:
    for var in list(os.environ):
        if var.startswith(("HERALD_", "TEMPORAL_")):
            monkeypatch.delenv(var)
    env = {var: interpolate(value) for var, value in herald_env(services).items()}
    for var, value in env.items():
        monkeypatch.setenv(var, value)

    settings = Settings()

    # Every variable must actually reach its field (a misspelt alias would leave the default).
    for var, value in env.items():
        got = getattr(settings, setting_field(var))
        if isinstance(got, SecretStr):
            got = got.get_secret_value()
        if isinstance(got, bool):
            assert got == (value.lower() in ("1", "true", "yes", "on")), var
        elif got is None:
            assert value == "", var
        else:
            assert str(got) == value, f"{var}={value!r} gave {got!r}"
    assert settings.resolved_database_url == env["HERALD_DATABASE_URL"]


def test_database_url_points_at_the_postgresql_service(services: dict[str, dict[str, Any]]) -> None:
    raw = herald_env(services)["HERALD_DATABASE_URL"]
    url = make_url(interpolate(raw))
    assert url.drivername == "postgresql+psycopg"
    assert url.host == "postgresql" and url.host in services
    assert url.port == 5432
    assert url.database == "herald"
    assert url.database not in ("temporal", "temporal_visibility"), (
        "share no database with Temporal"
    )
    # Same secret as the server's, from interpolation only.
    password_ref = referenced_variables(raw)
    postgres_env = environment(services["postgresql"])
    assert password_ref == referenced_variables(postgres_env["POSTGRES_PASSWORD"]) != set()


def test_herald_database_is_created_on_first_start(services: dict[str, dict[str, Any]]) -> None:
    url = make_url(interpolate(herald_env(services)["HERALD_DATABASE_URL"]))
    init_dirs = [
        ROOT / source
        for kind, source, target in volume_mounts(services["postgresql"])
        if kind == "bind" and target.rstrip("/") == "/docker-entrypoint-initdb.d"
    ]
    assert init_dirs, "no init script directory mounted into /docker-entrypoint-initdb.d"
    scripts = "\n".join(
        path.read_text()
        for path in sorted(init_dirs[0].iterdir())
        if path.suffix in (".sh", ".sql")
    )
    assert url.username and url.database
    assert re.search(rf"CREATE ROLE\b[^\n]*\b{url.username}\b", scripts), "no CREATE ROLE herald"
    assert re.search(rf"CREATE DATABASE\b[^\n]*\b{url.database}\b", scripts), "no CREATE DATABASE"


# --- Temporal ----------------------------------------------------------------------------------


def test_temporal_server_is_persisted_in_postgresql(services: dict[str, dict[str, Any]]) -> None:
    temporal = services["temporal"]
    assert temporal["image"].startswith("temporalio/server:")
    env = environment(temporal)
    assert env["DB"] == "postgres12"
    assert env["POSTGRES_SEEDS"] == "postgresql"
    assert env["DB_PORT"] == "5432"
    postgres = environment(services["postgresql"])
    assert env["POSTGRES_USER"] == postgres["POSTGRES_USER"]
    assert referenced_variables(env["POSTGRES_PWD"]) == referenced_variables(
        postgres["POSTGRES_PASSWORD"]
    )


def test_schema_job_targets_the_same_database(services: dict[str, dict[str, Any]]) -> None:
    schema_jobs = [
        name for name, s in services.items() if "SQL_HOST" in environment(s) and s.get("command")
    ]
    assert schema_jobs, "no job sets up Temporal's schema"
    assert depends_on(services["temporal"])[schema_jobs[0]] == "service_completed_successfully"
    env = environment(services[schema_jobs[0]])
    assert env["SQL_PLUGIN"] == environment(services["temporal"])["DB"]
    assert env["SQL_HOST"] == "postgresql"
    assert env["SQL_USER"] == environment(services["postgresql"])["POSTGRES_USER"]
    assert referenced_variables(env["SQL_PASSWORD"]) == {"POSTGRES_PASSWORD"}


def test_admin_tools_match_the_server_version(services: dict[str, dict[str, Any]]) -> None:
    server_tag = image_tag(services["temporal"]["image"])
    for name, service in services.items():
        if service.get("image", "").startswith("temporalio/admin-tools:"):
            assert image_tag(service["image"]) == server_tag, f"{name} differs from the server"


def test_clients_point_at_the_temporal_service(services: dict[str, dict[str, Any]]) -> None:
    temporal_ports = {parse_port(p)[2] for p in services["temporal"].get("ports", [])}
    for name in ("temporal-ui", *HERALD_SERVICES):
        host, _, port = interpolate(environment(services[name])["TEMPORAL_ADDRESS"]).partition(":")
        assert host == "temporal", f"{name} talks to {host}"
        assert int(port) == TEMPORAL_CONTAINER_PORT, f"{name} uses port {port}"
    assert TEMPORAL_CONTAINER_PORT in temporal_ports
    assert services["temporal-ui"]["image"].startswith("temporalio/ui:")


def test_namespace_created_is_the_one_herald_uses(services: dict[str, dict[str, Any]]) -> None:
    created = {
        environment(s)["DEFAULT_NAMESPACE"]
        for s in services.values()
        if "DEFAULT_NAMESPACE" in environment(s)
    }
    assert created == {interpolate(herald_env(services)["TEMPORAL_NAMESPACE"])}


def test_healthchecks_use_tools_the_images_contain(services: dict[str, dict[str, Any]]) -> None:
    # temporalio/server >= 1.30 ships neither the `temporal` CLI nor tctl (temporalio/temporal
    # docker/targets/server.Dockerfile): a CLI-based healthcheck would never pass.
    temporal_check = healthcheck_command(services["temporal"])
    assert temporal_check[0] not in ("temporal", "tctl")
    assert str(TEMPORAL_CONTAINER_PORT) in temporal_check
    # pg_isready over TCP: the initdb-time server listens on the Unix socket only.
    pg_check = healthcheck_command(services["postgresql"])
    assert pg_check[0] == "pg_isready"
    host = pg_check[pg_check.index("-h") + 1] if "-h" in pg_check else None
    assert host in ("127.0.0.1", "localhost"), "pg_isready must check TCP, not the socket"


# --- Secrets, images, ports ---------------------------------------------------------------------


def test_no_secret_has_a_literal_value(compose: dict[str, Any]) -> None:
    services = compose["services"]
    for name, service in services.items():
        for key, value in environment(service).items():
            if SECRET_KEY.search(key):
                assert re.fullmatch(r"\$\{[A-Za-z_][A-Za-z0-9_]*(:?[-?][^}]*)?\}", value), (
                    f"{name}: {key} must come from ${{...}} interpolation, not {value!r}"
                )
    smtp = herald_env(services)["HERALD_SMTP_PASSWORD"]
    assert interpolate(smtp) == "", "the SMTP password has no default in the file"
    raw_url = herald_env(services)["HERALD_DATABASE_URL"]
    credentials = re.match(r"^[a-z+]+://[^:/@]+:(?P<password>[^@]*)@", raw_url)
    assert credentials, "the database URL carries the password of the herald role"
    assert re.fullmatch(r"\$\{POSTGRES_PASSWORD(:?-[^}]*)?\}", credentials["password"])


def test_images_are_pinned(services: dict[str, dict[str, Any]]) -> None:
    for name, service in services.items():
        if "build" in service:
            continue
        image = interpolate(service["image"])
        tag = image_tag(image)
        assert tag or "@sha256:" in image, f"{name}: {image} has no tag"
        assert tag != "latest", f"{name}: {image} floats"
    for base in resolved_base_images():
        assert image_tag(base) not in (None, "latest"), f"Dockerfile base {base} is not pinned"


def test_published_ports_are_as_documented(services: dict[str, dict[str, Any]]) -> None:
    temporal = [parse_port(p) for p in services["temporal"]["ports"]]
    assert any(h == TEMPORAL_HOST_PORT and c == TEMPORAL_CONTAINER_PORT for _, h, c in temporal)
    ui = [parse_port(p) for p in services["temporal-ui"]["ports"]]
    assert any(h == UI_HOST_PORT and c == UI_CONTAINER_PORT for _, h, c in ui)
    api = [parse_port(p) for p in services["herald-api"]["ports"]]
    assert api == [("127.0.0.1", API_HOST_PORT, API_CONTAINER_PORT)], api
    assert not services["postgresql"].get("ports"), "PostgreSQL is not published"
    docs = DEPLOY_DOC.read_text()
    assert f"http://localhost:{UI_HOST_PORT}" in docs
    assert f"localhost:{TEMPORAL_HOST_PORT}" in docs
    assert f"http://localhost:{API_HOST_PORT}" in docs
    origin = interpolate(environment(services["temporal-ui"])["TEMPORAL_CORS_ORIGINS"])
    assert origin == f"http://localhost:{UI_HOST_PORT}"


# --- Dockerfile and .dockerignore ----------------------------------------------------------------


def test_dockerfile_builds_a_non_root_herald_image() -> None:
    instructions = dockerfile_instructions()
    final = final_stage(instructions)
    assert resolved_base_images()[-1].startswith("python:3.12-slim")
    assert any(k == "RUN" and "pip install" in v for k, v in instructions)
    workdirs = [v for k, v in final if k == "WORKDIR"]
    assert workdirs and workdirs[-1] == "/app"
    users = [v for k, v in final if k == "USER"]
    assert users and users[-1].split(":")[0] not in ("root", "0")
    assert json.loads([v for k, v in final if k == "CMD"][-1]) == ["herald", "worker"]
    # The console script exists in the package the image installs.
    script = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["scripts"]["herald"]
    module, _, func = script.partition(":")
    assert callable(getattr(importlib.import_module(module), func))


def test_dockerignore_excludes_local_state_but_not_sources() -> None:
    patterns = [
        line.strip()
        for line in DOCKERIGNORE.read_text().splitlines()
        if line.strip() and not line.startswith("#")
    ]

    def ignored(path: str) -> bool:
        return any(fnmatch(path, p.lstrip("/")) or fnmatch(path, f"**/{p}") for p in patterns)

    for path in (".venv", ".git", ".herald", "tests", ".env", ".pytest_cache", ".ruff_cache"):
        assert ignored(path), f"{path} should not reach the build context"
    for keyword, args in dockerfile_instructions():
        if keyword != "COPY" or "--from=" in args:
            continue
        for source in args.split()[:-1]:
            if not source.startswith("--") and "*" not in source:
                assert not ignored(source.rstrip("/")), f"COPY {source} is excluded"


# --- Documentation ----------------------------------------------------------------------------


def test_docs_list_herald_search_attributes() -> None:
    from herald.search_attributes import ALL_KEYS

    docs = DEPLOY_DOC.read_text()
    assert "herald setup" in docs
    for key in ALL_KEYS:
        kind = key.indexed_value_type.name.title()
        assert f"--name {key.name} --type {kind}" in docs, f"{key.name} missing from DEPLOY.md"
