"""``compose.yaml`` (one web, N workers, one PostgreSQL, one Redis) agrees with the CLI, the
settings and docs/operations.md. No image is pulled: the file is read, and each command line and
variable is checked against what the product accepts."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

from sfacal.cli import COMMANDS

ROOT = Path(__file__).resolve().parents[2]
SFACAL_SERVICES = ("migrate", "web", "worker")


@pytest.fixture(scope="module")
def compose() -> dict[str, Any]:
    data: dict[str, Any] = yaml.safe_load((ROOT / "compose.yaml").read_text(encoding="utf-8"))
    return data


def substituted(value: str) -> str:
    """``${NAME:-default}`` and ``${NAME:?message}`` as compose resolves them with NAME unset
    (a required one gets a stand-in)."""

    def one(match: re.Match[str]) -> str:
        name, op, rest = match.group(1), match.group(2), match.group(3)
        if op == ":?":
            return f"stand-in-{name.lower()}"
        return rest or ""

    return re.sub(r"\$\{(\w+)(:-|:\?)?([^}]*)\}", one, value)


def test_the_stack_is_one_web_several_workers_one_postgresql_one_redis(compose: dict[str, Any]) -> None:
    services = compose["services"]
    assert set(services) == {"postgres", "redis", *SFACAL_SERVICES}
    assert services["postgres"]["image"].startswith("postgres:")
    assert services["redis"]["image"].startswith("redis:")
    assert services["worker"]["deploy"]["replicas"] >= 2
    assert "deploy" not in services["web"]  # one web server
    for name in ("web", "worker"):
        assert services[name]["depends_on"] == {"migrate": {"condition": "service_completed_successfully"}}
    assert services["migrate"]["depends_on"] == {
        "postgres": {"condition": "service_healthy"},
        "redis": {"condition": "service_healthy"},
    }
    assert services["migrate"]["restart"] == "no"


def test_every_command_line_is_one_the_cli_accepts(compose: dict[str, Any]) -> None:
    for name in SFACAL_SERVICES:
        command, *args = compose["services"][name]["command"]
        assert command in COMMANDS, command
        env = {**os.environ, "PYTHONPATH": str(ROOT / "src"), "SFACAL_DATA_DIR": "/nonexistent"}
        shown = subprocess.run(
            [sys.executable, "-m", "sfacal.cli", command, "--help"],
            env=env,
            capture_output=True,
            text=True,
            timeout=60,
            check=True,
        ).stdout
        for arg in args:
            if arg.startswith("--"):
                assert arg in shown, f"{name}: {arg} is not an option of sfacal {command}"


def test_the_environment_is_what_the_settings_read(compose: dict[str, Any], monkeypatch: Any) -> None:
    sources = "\n".join(p.read_text(encoding="utf-8") for p in (ROOT / "src" / "sfacal").rglob("*.py"))
    operations = (ROOT / "docs" / "operations.md").read_text(encoding="utf-8")
    envs = [compose["services"][name]["environment"] for name in SFACAL_SERVICES]
    assert all(env == envs[0] for env in envs)  # every process: same database, queue, key
    for name, value in envs[0].items():
        assert f'"{name}"' in sources, f"{name} is read by no setting"
        assert f"`{name}`" in operations, f"{name} is not in docs/operations.md"
        monkeypatch.setenv(name, substituted(str(value)))
    from sfacal import config

    database = config.database_config()
    assert (database.engine, database.host, database.name) == ("postgresql", "postgres", "sfacal")
    assert config.queue_config()["huey_class"] == "huey.RedisHuey"
    postgres = compose["services"]["postgres"]["environment"]
    assert substituted(envs[0]["DATABASE_URL"]) == (
        f"postgresql://{postgres['POSTGRES_USER']}:{substituted(postgres['POSTGRES_PASSWORD'])}"
        f"@postgres:5432/{postgres['POSTGRES_DB']}"
    )


def test_the_image_runs_the_python_the_project_requires(compose: dict[str, Any]) -> None:
    inline = compose["x-sfacal"]["build"]["dockerfile_inline"]
    found = re.search(r"FROM python:(\d+\.\d+)", inline)
    assert found is not None
    pyproject = (ROOT / "pyproject.toml").read_text(encoding="utf-8")
    wanted = re.search(r'requires-python = ">=(\d+\.\d+)', pyproject)
    assert wanted is not None and found.group(1) == wanted.group(1)
    assert 'ENTRYPOINT ["sfacal"]' in inline


def test_the_operations_guide_describes_the_same_stack() -> None:
    text = (ROOT / "docs" / "operations.md").read_text(encoding="utf-8")
    section = text.split("## Several machines", 1)[1].split("\n## ", 1)[0]
    for needle in ("compose.yaml", "sfacal migrate", "sfacal web", "sfacal worker", "DATABASE_URL",
                   "SFACAL_QUEUE_URL", "SFACAL_SECRET_KEY", "scripts/services"):  # fmt: skip
        assert needle in section, needle
