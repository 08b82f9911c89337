"""Settings come from the environment through strict helpers; production refuses unsafe starts."""

import os
import subprocess
import sys
from pathlib import Path

import pytest
from django.core.exceptions import ImproperlyConfigured

from portal.lib import env

ROOT = Path(__file__).resolve().parents[2]
KEY = "dGVzdC1rZXktbmV3LTAxMjM0NTY3ODlhYmNkZWYwMTI="


def test_env_bool_is_strict(monkeypatch):
    monkeypatch.setenv("X_FLAG", "ture")
    with pytest.raises(ImproperlyConfigured, match="X_FLAG must be true or false"):
        env.env_bool("X_FLAG", False)
    monkeypatch.setenv("X_FLAG", "TRUE")
    assert env.env_bool("X_FLAG", False) is True
    monkeypatch.delenv("X_FLAG")
    assert env.env_bool("X_FLAG", True) is True


def test_env_int_and_list(monkeypatch):
    monkeypatch.setenv("X_NUM", "12a")
    with pytest.raises(ImproperlyConfigured, match="whole number"):
        env.env_int("X_NUM", 1)
    monkeypatch.setenv("X_NUM", "2")
    with pytest.raises(ImproperlyConfigured, match="at least 5"):
        env.env_int("X_NUM", 1, minimum=5)
    monkeypatch.setenv("X_LIST", " a.example, b.example ,,")
    assert env.env_list("X_LIST") == ["a.example", "b.example"]


def test_secret_file_wins_over_plain_variable(monkeypatch, tmp_path):
    secret = tmp_path / "secret"
    secret.write_text("from-file\n")
    monkeypatch.setenv("X_SECRET", "from-env")
    monkeypatch.setenv("X_SECRET_FILE", str(secret))
    assert env.env_secret("X_SECRET") == "from-file"
    monkeypatch.setenv("X_SECRET_FILE", str(tmp_path / "missing"))
    with pytest.raises(ImproperlyConfigured, match="X_SECRET_FILE"):
        env.env_secret("X_SECRET")


def test_email_url():
    mailer = env.parse_email_url("smtp://relay%40contoso.test:p%40ss@mail.contoso.test:2525")
    assert mailer["OPTIONS"] == {
        "host": "mail.contoso.test", "port": 2525, "username": "relay@contoso.test",
        "password": "p@ss", "use_ssl": False, "use_tls": True,
    }  # fmt: skip
    with pytest.raises(ImproperlyConfigured):
        env.parse_email_url("http://nope")


def _manage(*args, **extra_env):
    clean = {
        k: v
        for k, v in os.environ.items()
        if k not in {"SECRET_KEY", "FIELD_ENCRYPTION_KEYS", "DJANGO_ALLOW_ASYNC_UNSAFE"}
    }
    clean.update(extra_env)
    return subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=ROOT, env=clean, capture_output=True, text=True, timeout=120,
    )  # fmt: skip


def test_production_refuses_to_start_without_keys():
    result = _manage("check", DEBUG="false")
    assert result.returncode != 0
    assert "SECRET_KEY and FIELD_ENCRYPTION_KEYS must be set" in result.stderr


def test_makemigrations_runs_on_a_clean_clone_without_keys(tmp_path):
    """Only commands that never use the keys are exempt; everything else still refuses."""
    result = _manage("makemigrations", "--check", "--dry-run", DEBUG="false", VAR_DIR=str(tmp_path))
    assert result.returncode == 0, result.stdout + result.stderr
    assert "No changes detected" in result.stdout
    refused = _manage("migrate", "--plan", DEBUG="false", VAR_DIR=str(tmp_path))
    assert refused.returncode != 0
    assert "SECRET_KEY and FIELD_ENCRYPTION_KEYS must be set" in refused.stderr


def test_bad_encryption_key_is_reported():
    result = _manage("check", DEBUG="false", SECRET_KEY="k" * 60, FIELD_ENCRYPTION_KEYS="nope")
    assert result.returncode != 0
    assert "FIELD_ENCRYPTION_KEYS must be a comma-separated list of Fernet keys" in result.stderr


def test_check_deploy_is_clean_in_production(tmp_path):
    key_file = tmp_path / "field_keys"
    key_file.write_text(KEY)
    result = _manage(
        "check", "--deploy", "--fail-level", "WARNING",
        DEBUG="false", SECURE_HTTPS="true", ALLOWED_HOSTS="portal.contoso.test",
        SECRET_KEY="p" + "Zq8#vL2@xW9!mN4$kR7^tY1&" * 3, FIELD_ENCRYPTION_KEYS_FILE=str(key_file),
        EMAIL_URL="smtp://portal%40contoso.test:pw@smtp.contoso.test:587",
    )  # fmt: skip
    assert result.returncode == 0, result.stdout + result.stderr
    assert "no issues" in result.stdout


def test_embedded_default_reads_the_key_files_make_run_wrote(tmp_path):
    (tmp_path / "secret_key").write_text("s" * 50 + "\n")
    (tmp_path / "field_keys").write_text(KEY + "\n")
    result = _manage("check", DEBUG="false", VAR_DIR=str(tmp_path))
    assert result.returncode == 0, result.stderr
    empty = tmp_path / "empty"
    empty.mkdir()
    assert _manage("check", DEBUG="false", VAR_DIR=str(empty)).returncode != 0


def test_session_cookies_are_secure_in_production_and_expire_when_idle(tmp_path):
    code = (
        "from django.conf import settings as s;"
        "print(s.SESSION_COOKIE_SECURE, s.CSRF_COOKIE_SECURE, s.SESSION_COOKIE_HTTPONLY,"
        " s.SESSION_COOKIE_SAMESITE, s.SESSION_COOKIE_AGE, s.SESSION_SAVE_EVERY_REQUEST)"
    )
    key_file = tmp_path / "field_keys"
    key_file.write_text(KEY)
    result = _manage(
        "shell", "-c", code, DEBUG="false", SECRET_KEY="k" * 60,
        FIELD_ENCRYPTION_KEYS_FILE=str(key_file), SECURE_HTTPS="true", SESSION_IDLE_TIMEOUT="900",
    )  # fmt: skip
    last_line = result.stdout.strip().splitlines()[-1]
    assert last_line.split() == ["True", "True", "True", "Lax", "900", "True"], result.stderr
    bad = _manage("check", DEBUG="false", SECRET_KEY="k" * 60,
                  FIELD_ENCRYPTION_KEYS_FILE=str(key_file), SESSION_IDLE_TIMEOUT="10")  # fmt: skip
    assert bad.returncode != 0 and "SESSION_IDLE_TIMEOUT must be at least 300" in bad.stderr


def test_idle_session_is_extended_by_each_request(viewer_client):
    first = viewer_client.get("/").cookies["sessionid"]["max-age"]
    assert first == 8 * 3600  # every request renews the idle window
