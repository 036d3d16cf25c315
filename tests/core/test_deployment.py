"""docker-compose.yml cannot start here (no Docker engine), so we check that it is valid and that
what it configures produces the intended production settings."""

from __future__ import annotations

import json
import os
import secrets
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
COMPOSE = shutil.which("docker-compose")
SECRET_KEY = secrets.token_urlsafe(64)


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
    env["DJANGO_SECRET_KEY"] = SECRET_KEY  # the operator's, in place of the placeholder
    probe = """
import json, django
django.setup()
from django.conf import settings as s
o = s.STORAGES["files"]["OPTIONS"]
print(json.dumps({
    "db": s.DATABASES["default"]["HOST"], "engine": s.DATABASES["default"]["ENGINE"],
    "broker": s.CELERY_BROKER_URL, "endpoint": o["endpoint_url"], "key": o["access_key"],
    "presign": s.S3_PRESIGN_ENDPOINT_URL, "debug": s.DEBUG,
    "secure_cookies": s.SESSION_COOKIE_SECURE and s.CSRF_COOKIE_SECURE,
    "ssl_redirect": s.SECURE_SSL_REDIRECT, "hsts": s.SECURE_HSTS_SECONDS,
    "proxy_header": s.SECURE_PROXY_SSL_HEADER,
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
        "engine": "core.postgresql",
        "broker": "redis://redis:6379/0",
        "endpoint": "http://minio:9000",
        "key": "seqvault",
        "presign": "http://localhost:9000",
        "debug": False,
        "secure_cookies": True,
        "ssl_redirect": True,
        "hsts": 31536000,
        "proxy_header": None,
        "eager": False,
        "origins": ["http://localhost:8000"],
    }


def _production(env_changes: dict[str, str | None], code: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "config.settings.production"}
    for name, value in env_changes.items():
        if value is None:
            env.pop(name, None)
        else:
            env[name] = value
    return subprocess.run(
        [sys.executable, "-c", f"import django, json; django.setup(); {code}"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )


def _env_example() -> dict[str, str]:
    lines = (ROOT / ".env.example").read_text().splitlines()
    pairs = (line.split("=", 1) for line in lines if "=" in line and not line.startswith("#"))
    return {name.strip(): value.strip() for name, value in pairs}


@pytest.mark.parametrize(
    "key",
    [
        None,
        "",
        "insecure-local-key-change-me",
        "change-me-to-a-long-random-string",
        _env_example()["DJANGO_SECRET_KEY"],
        "x" * 60,
        SECRET_KEY[:49],
        "change-me-" + SECRET_KEY,
    ],
    ids=["unset", "empty", "local", "env-example", "env-example-again", "one-letter", "49", "cm"],
)
def test_production_refuses_placeholder_and_short_secret_keys(key: str | None) -> None:
    result = _production({"DJANGO_SECRET_KEY": key}, "pass")
    assert result.returncode != 0
    assert "Set DJANGO_SECRET_KEY to a random value of at least 50 characters" in result.stderr


def test_production_is_secure_unless_variables_say_otherwise() -> None:
    probe = (
        "from django.conf import settings as s; print(json.dumps([s.SESSION_COOKIE_SECURE, "
        "s.CSRF_COOKIE_SECURE, s.SECURE_SSL_REDIRECT, s.SECURE_HSTS_SECONDS, "
        "s.SECURE_HSTS_INCLUDE_SUBDOMAINS, s.SECURE_PROXY_SSL_HEADER]))"
    )
    clean = {
        name: None
        for name in os.environ
        if name.startswith("DJANGO_") and name != "DJANGO_SETTINGS_MODULE"
    }
    defaults = _production({**clean, "DJANGO_SECRET_KEY": SECRET_KEY}, probe)
    assert defaults.returncode == 0, defaults.stderr
    assert json.loads(defaults.stdout) == [True, True, True, 31536000, True, None]
    plain_http = {
        **clean,
        "DJANGO_SECRET_KEY": SECRET_KEY,
        "DJANGO_SECURE_COOKIES": "false",
        "DJANGO_SSL_REDIRECT": "false",
        "DJANGO_HSTS_SECONDS": "0",
        "DJANGO_PROXY_SSL_HEADER": "X-Forwarded-Proto",
    }
    relaxed = _production(plain_http, probe)
    assert relaxed.returncode == 0, relaxed.stderr
    assert json.loads(relaxed.stdout) == [
        False,
        False,
        False,
        0,
        True,
        ["HTTP_X_FORWARDED_PROTO", "https"],
    ]


def test_env_example_ships_https_on() -> None:
    example = _env_example()
    assert example["DJANGO_SECURE_COOKIES"] == "true"
    assert example["DJANGO_SSL_REDIRECT"] == "true"
    assert int(example["DJANGO_HSTS_SECONDS"]) >= 31536000
    assert example["DJANGO_PROXY_SSL_HEADER"] == ""


def test_check_deploy_is_clean() -> None:
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "config.settings.production"}
    for name in [
        name for name in env if name.startswith("DJANGO_") and name != "DJANGO_SETTINGS_MODULE"
    ]:
        env.pop(name)
    env["DJANGO_SECRET_KEY"] = SECRET_KEY
    result = subprocess.run(
        [sys.executable, "manage.py", "check", "--deploy", "--fail-level", "WARNING"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stderr + result.stdout
    assert "System check identified no issues" in result.stdout
