import os
import subprocess
import sys

import pytest
from django.core.exceptions import ImproperlyConfigured

from defect_platform import env


def test_env_int_names_the_variable_when_the_value_is_bad(monkeypatch):
    monkeypatch.setenv("SOME_LIMIT", "ten")
    with pytest.raises(ImproperlyConfigured, match="SOME_LIMIT"):
        env.env_int("SOME_LIMIT", 1)


def test_env_bool_accepts_common_spellings_and_rejects_others(monkeypatch):
    monkeypatch.setenv("FLAG", "Yes")
    assert env.env_bool("FLAG", False) is True
    monkeypatch.setenv("FLAG", "0")
    assert env.env_bool("FLAG", True) is False
    monkeypatch.setenv("FLAG", "maybe")
    with pytest.raises(ImproperlyConfigured, match="FLAG"):
        env.env_bool("FLAG", True)


def test_env_url_rejects_unknown_schemes(monkeypatch):
    monkeypatch.setenv("REDIS_URL", "http://example")
    with pytest.raises(ImproperlyConfigured, match="REDIS_URL"):
        env.env_url("REDIS_URL", ("redis",))


def _start_django(**overrides) -> subprocess.CompletedProcess:
    environment = {k: v for k, v in os.environ.items() if k not in ("SECRET_KEY", "ALLOWED_HOSTS")}
    environment.update(overrides)
    code = "import django; django.setup(); from django.conf import settings; print(settings.DEBUG)"
    return subprocess.run(
        [sys.executable, "-c", code], env=environment, capture_output=True, text=True, timeout=120
    )


def test_production_mode_refuses_to_start_without_secret_key():
    result = _start_django(DEBUG="0", ALLOWED_HOSTS="factory.example")
    assert result.returncode != 0
    assert "SECRET_KEY must be set" in result.stderr


def test_production_mode_refuses_to_start_without_allowed_hosts():
    result = _start_django(DEBUG="0", SECRET_KEY="x" * 50)
    assert result.returncode != 0
    assert "ALLOWED_HOSTS" in result.stderr


def test_production_mode_starts_with_both_set():
    result = _start_django(DEBUG="0", SECRET_KEY="x" * 50, ALLOWED_HOSTS="factory.example")
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "False"


def test_a_bad_database_url_is_named():
    result = _start_django(DATABASE_URL="mysql-ish://nope")
    assert result.returncode != 0
    assert "DATABASE_URL" in result.stderr


def test_production_mode_passes_the_deploy_checks():
    environment = {k: v for k, v in os.environ.items() if k not in ("SECRET_KEY", "DEBUG")}
    environment.update(
        DEBUG="0", SECRET_KEY="k" * 20 + "-Qz8" * 10, ALLOWED_HOSTS="factory.example"
    )
    result = subprocess.run(
        [sys.executable, "manage.py", "check", "--deploy", "--fail-level", "WARNING"],
        env=environment,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    assert "no issues" in result.stdout


@pytest.mark.django_db
def test_plain_http_is_redirected_but_probes_answer_where_they_are(client, settings):
    settings.SECURE_SSL_REDIRECT = True
    redirected = client.get("/api/", HTTP_HOST="localhost")
    assert redirected.status_code == 301 and redirected["Location"].startswith("https://")
    assert client.get("/healthz", HTTP_HOST="localhost").status_code == 200
