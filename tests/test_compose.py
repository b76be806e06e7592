"""docker-compose.yml, checked without a Docker engine: the compose-spec schema, the service
graph DESIGN.md asks for, commands the `pagelab` CLI accepts, and variables the service reads.
"""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

from backend.settings import Settings
from pagelab_cli.main import build_parser

REPO_ROOT = Path(__file__).resolve().parents[1]
COMPOSE_FILE = REPO_ROOT / "docker-compose.yml"
PAGELAB_SERVICES = ("migrate", "first-token", "api", "worker")
LONG_RUNNING_SERVICES = ("postgres", "redis", "api", "worker")


@pytest.fixture(scope="module")
def services() -> dict[str, dict[str, Any]]:
    compose = yaml.safe_load(COMPOSE_FILE.read_text(encoding="utf-8"))
    services: dict[str, dict[str, Any]] = compose["services"]
    return services


def _check_against_compose_spec(path: Path) -> subprocess.CompletedProcess[str]:
    command = ["-m", "check_jsonschema", "--builtin-schema", "vendor.compose-spec", str(path)]
    return subprocess.run([sys.executable, *command], capture_output=True, text=True)


def test_compose_file_matches_the_compose_specification() -> None:
    check = _check_against_compose_spec(COMPOSE_FILE)
    assert check.returncode == 0, check.stdout + check.stderr


def test_compose_specification_check_rejects_a_bad_file(tmp_path: Path) -> None:
    source = COMPOSE_FILE.read_text(encoding="utf-8")
    bad_file = tmp_path / "docker-compose.yml"
    bad_file.write_text(source.replace("service_completed_successfully", "completed"))
    check = _check_against_compose_spec(bad_file)
    assert check.returncode == 1
    assert "'completed' is not one of" in check.stdout


def test_services_are_the_distributed_setup(services: dict[str, dict[str, Any]]) -> None:
    assert set(services) == {"postgres", "redis", "migrate", "first-token", "api", "worker"}


def test_migrate_runs_once_before_api_and_worker(services: dict[str, dict[str, Any]]) -> None:
    assert services["migrate"]["restart"] == "no"
    assert services["migrate"]["depends_on"]["postgres"] == {"condition": "service_healthy"}
    for name in ("api", "worker"):
        depends_on = services[name]["depends_on"]
        assert depends_on["migrate"] == {"condition": "service_completed_successfully"}
        assert depends_on["redis"] == {"condition": "service_healthy"}


def test_the_published_api_requires_tokens_and_a_first_one_is_made_once(
    services: dict[str, dict[str, Any]],
) -> None:
    environment = services["api"]["environment"]
    assert environment["PAGELAB_API_TOKENS_REQUIRED"] == "true"
    assert "localhost" in environment["PAGELAB_ALLOWED_HOSTS"].split(",")
    first = services["first-token"]
    assert first["restart"] == "no"
    assert first["depends_on"]["migrate"] == {"condition": "service_completed_successfully"}
    parsed = build_parser().parse_args(first["command"][1:])
    assert (parsed.scope, parsed.first) == ("write", True)


def test_long_running_services_have_healthchecks(services: dict[str, dict[str, Any]]) -> None:
    for name in LONG_RUNNING_SERVICES:
        healthcheck = services[name]["healthcheck"]
        assert healthcheck["test"][0] in {"CMD", "CMD-SHELL"}, name
        assert not healthcheck.get("disable", False), name
    api_check = " ".join(services["api"]["healthcheck"]["test"])
    assert "http://127.0.0.1:8000/healthz" in api_check


def test_worker_can_be_scaled(services: dict[str, dict[str, Any]]) -> None:
    # A fixed name or host port would make the second replica of `--scale worker=N` fail.
    worker = services["worker"]
    assert "container_name" not in worker
    assert "ports" not in worker
    assert "deploy" not in worker or "replicas" not in worker["deploy"]


def test_commands_are_accepted_by_the_pagelab_cli(services: dict[str, dict[str, Any]]) -> None:
    parser = build_parser()
    for name in PAGELAB_SERVICES:
        program, *arguments = services[name]["command"]
        assert program == "pagelab", name
        parsed = parser.parse_args(arguments)
        assert parsed.command == arguments[0], name


def _setting_variables() -> set[str]:
    """The environment variables backend Settings reads, one per field."""
    prefix = Settings.model_config.get("env_prefix", "")
    return {f"{prefix}{field}".upper() for field in Settings.model_fields}


def test_every_pagelab_variable_is_a_setting(services: dict[str, dict[str, Any]]) -> None:
    setting_names = _setting_variables()
    for name in PAGELAB_SERVICES:
        environment = services[name]["environment"]
        used = {variable for variable in environment if variable.startswith("PAGELAB_")}
        assert used, f"{name} sets no PAGELAB_ variables"
        unknown = used - setting_names
        assert not unknown, f"{name} sets {sorted(unknown)}, not fields of backend Settings"


def test_database_and_broker_urls_point_at_compose_services(
    services: dict[str, dict[str, Any]],
) -> None:
    environment = services["api"]["environment"]
    assert re.fullmatch(
        r"postgresql\+psycopg://[^@]+@postgres:5432/\w+", environment["PAGELAB_DATABASE_URL"]
    )
    assert re.fullmatch(r"redis://redis:6379/\d+", environment["PAGELAB_BROKER_URL"])
    assert services["worker"]["environment"] == environment


def test_readme_documents_every_setting() -> None:
    readme = (REPO_ROOT / "README.md").read_text(encoding="utf-8")
    documented = set(re.findall(r"^\| `(PAGELAB_\w+)` \|", readme, flags=re.MULTILINE))
    assert documented == _setting_variables()


def test_api_and_workers_share_the_home_volume(services: dict[str, dict[str, Any]]) -> None:
    # Uploaded traces are files under PAGELAB_HOME; a worker must read what the API stored.
    home = services["api"]["environment"]["PAGELAB_HOME"]
    mounts = {name: set(services[name]["volumes"]) for name in PAGELAB_SERVICES}
    shared = [mount for mount in mounts["api"] if mount.endswith(f":{home}")]
    assert len(shared) == 1
    assert shared[0] in mounts["worker"]
    assert not shared[0].startswith(("/", "."))  # a named volume, not a host folder
