"""docker-compose.yml cannot start here (no Docker engine), so we check that it is valid and that
what it configures produces the intended production settings."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
COMPOSE = shutil.which("docker-compose")


@pytest.fixture(scope="module")
def compose_config(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    if COMPOSE is None:
        pytest.fail(
            "docker-compose is not installed (apt-get install docker-compose); .ci/run installs it"
        )
    workdir = tmp_path_factory.mktemp("compose")
    for name in ("docker-compose.yml", "Dockerfile"):
        shutil.copy(ROOT / name, workdir / name)
    shutil.copy(ROOT / ".env.example", workdir / ".env")
    (workdir / "devtools" / "oidc").mkdir(parents=True)
    result = subprocess.run(
        [COMPOSE, "config"], cwd=workdir, capture_output=True, text=True, check=False
    )
    assert result.returncode == 0, result.stderr
    return yaml.safe_load(result.stdout)


def test_compose_starts_every_part(compose_config: dict[str, Any]) -> None:
    services = compose_config["services"]
    assert set(services) == {"postgres", "redis", "minio", "setup", "web", "worker", "beat", "oidc"}
    assert "setup_bucket" in " ".join(services["setup"]["command"])
    assert services["worker"]["command"][:4] == ["celery", "-A", "config", "worker"]
    assert services["beat"]["command"][:4] == ["celery", "-A", "config", "beat"]
    assert services["web"]["depends_on"]["setup"]["condition"] == "service_completed_successfully"


def test_compose_environment_gives_the_intended_production_settings(
    compose_config: dict[str, Any],
) -> None:
    environment = compose_config["services"]["web"]["environment"]
    env = {k: v for k, v in os.environ.items() if not k.startswith(("S3_", "DATABASE", "REDIS"))}
    env.update({k: str(v) for k, v in environment.items() if v is not None})
    probe = """
import json, django
django.setup()
from django.conf import settings as s
o = s.STORAGES["files"]["OPTIONS"]
print(json.dumps({
    "db": s.DATABASES["default"]["HOST"], "engine": s.DATABASES["default"]["ENGINE"],
    "broker": s.CELERY_BROKER_URL, "endpoint": o["endpoint_url"], "key": o["access_key"],
    "presign": s.S3_PRESIGN_ENDPOINT_URL, "debug": s.DEBUG,
    "eager": s.CELERY_TASK_ALWAYS_EAGER, "origins": s.WEB_ORIGINS,
}))
"""
    result = subprocess.run(
        [sys.executable, "-c", probe],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout) == {
        "db": "postgres",
        "engine": "django.db.backends.postgresql",
        "broker": "redis://redis:6379/0",
        "endpoint": "http://minio:9000",
        "key": "seqvault",
        "presign": "http://localhost:9000",
        "debug": False,
        "eager": False,
        "origins": ["http://localhost:8000"],
    }


def test_production_refuses_the_default_secret_key() -> None:
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "config.settings.production"}
    env.pop("DJANGO_SECRET_KEY", None)
    result = subprocess.run(
        [sys.executable, "-c", "import django; django.setup()"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode != 0
    assert "Set DJANGO_SECRET_KEY" in result.stderr
