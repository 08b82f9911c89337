"""Personas and database helpers shared by every test."""

import os
import subprocess
import sys
from pathlib import Path
from urllib.parse import quote

import pytest
from django.conf import settings
from django.contrib.auth import get_user_model
from django.db import connection
from django.test import Client

from portal.accounts.roles import set_role
from portal.audit import db_guard
from portal.lib.access import Role

ROOT = Path(__file__).resolve().parents[1]
PASSWORD = "correct-horse-battery-staple-42"
PERSONAS = {"admin": Role.ADMIN, "operator": Role.OPERATOR, "viewer": Role.VIEWER}


def make_user(username: str, role: Role, *, mfa: bool | None = None):
    """A local account; Admins get a TOTP authenticator (they must have one to use the portal)."""
    user = get_user_model().objects.create_user(
        username=username, email=f"{username}@example.test", password=PASSWORD
    )
    set_role(user, role)
    if mfa if mfa is not None else role >= Role.ADMIN:
        from tests.accounts.helpers import enrol_totp

        user.totp_secret = enrol_totp(user)
    return user


@pytest.fixture(autouse=True, scope="session")
def _private_cache(tmp_path_factory):
    """A file cache of this test run's own (another run in the same tree must not clear it)."""
    from django.test import override_settings

    location = str(tmp_path_factory.mktemp("cache"))
    backend = "django.core.cache.backends.filebased.FileBasedCache"
    # A fast hasher: the suite creates hundreds of accounts; production keeps Django's default.
    fast = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    with override_settings(
        CACHES={"default": {"BACKEND": backend, "LOCATION": location}}, PASSWORD_HASHERS=fast
    ):
        yield


@pytest.fixture(autouse=True)
def _own_audit_checkpoints(settings, tmp_path_factory):
    """Audit checkpoints pin a chain head: each test's database gets its own folder of them."""
    settings.AUDIT_CHECKPOINT_DIR = str(tmp_path_factory.mktemp("audit-checkpoints"))


@pytest.fixture(autouse=True)
def _default_language_after_each_test():
    """A request in Russian leaves its language active in this thread (Django resets it only
    when the next request comes): the next test starts in the default language again."""
    yield
    from django.utils import translation

    translation.deactivate()


@pytest.fixture(autouse=True)
def _fresh_cache(_private_cache):
    """Rate-limit counters and used TOTP codes live in the cache: start each test clean."""
    from django.core.cache import cache

    cache.clear()
    yield


@pytest.fixture
def admin_user(db):
    return make_user("alice-admin", Role.ADMIN)


@pytest.fixture
def operator_user(db):
    return make_user("oscar-operator", Role.OPERATOR)


@pytest.fixture
def viewer_user(db):
    return make_user("vera-viewer", Role.VIEWER)


def _client_for(user):
    client = Client()
    client.force_login(user)
    return client


@pytest.fixture
def admin_client(admin_user):
    return _client_for(admin_user)


@pytest.fixture
def reauthenticated_admin_client(admin_client):
    """An Admin who has just confirmed their password (as sensitive changes require)."""
    response = admin_client.post("/accounts/reauthenticate/", {"password": PASSWORD})
    assert response.status_code == 302, "reauthentication failed"
    return admin_client


@pytest.fixture
def operator_client(operator_user):
    return _client_for(operator_user)


@pytest.fixture
def viewer_client(viewer_user):
    return _client_for(viewer_user)


@pytest.fixture
def anon_client():
    return Client()


def _is_transactional(request) -> bool:
    names = request.fixturenames
    if "transactional_db" in names or "live_server" in names:
        return True
    marker = request.node.get_closest_marker("django_db")
    return bool(marker and (marker.kwargs.get("transaction") or marker.args[:1] == (True,)))


@pytest.fixture(autouse=True)
def _audit_guard_allows_flush(request):
    """Transactional tests end with a flush; the append-only triggers would refuse it.

    The guard is put back before each such test and lifted only for the final flush.
    """
    if not _is_transactional(request):
        yield
        return
    request.getfixturevalue("_django_db_helper")
    db_guard.install(connection)
    yield
    db_guard.uninstall(connection)


def _database_url() -> str:
    db = connection.settings_dict
    if connection.vendor == "sqlite":
        return f"sqlite:///{db['NAME']}"
    auth = quote(db["USER"] or "")
    if db.get("PASSWORD"):
        auth += ":" + quote(db["PASSWORD"])
    return f"postgres://{auth}@{db['HOST'] or 'localhost'}:{db['PORT'] or 5432}/{db['NAME']}"


@pytest.fixture
def celery_worker_process(transactional_db, tmp_path):
    env = {
        **os.environ,
        "DATABASE_URL": _database_url(),
        "CELERY_BROKER_URL": settings.CELERY_BROKER_URL,
    }
    from portal.celery import app

    app.control.purge()  # messages left by earlier tests would run against a flushed database
    log = (tmp_path / "worker.log").open("w")
    proc = subprocess.Popen(
        [sys.executable, "-m", "celery", "-A", "portal", "worker", "--pool=solo",
         "--without-mingle", "--without-gossip", "--loglevel=INFO",
         f"--hostname=test-{os.getpid()}@%h"],
        cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT,
    )  # fmt: skip
    yield proc
    proc.terminate()
    try:
        proc.wait(timeout=20)
    except subprocess.TimeoutExpired:
        proc.kill()
    log.close()


@pytest.fixture(scope="session")
def sandbox_exchange(tmp_path_factory):
    """One in-process Sandbox Exchange for the portal's tests (EWS, Autodiscover, MAPI, SMTP)."""
    from connectivity.sandbox import SandboxServer

    with SandboxServer(tmp_path_factory.mktemp("portal-sandbox"), seed_mailboxes=3) as server:
        yield server


@pytest.fixture
def eager_celery():
    """Run tasks in-process (the real-worker path is covered by test_celery_worker)."""
    from portal.celery import app

    app.conf.task_always_eager = True
    app.conf.task_eager_propagates = True
    yield app
    app.conf.task_always_eager = False
    app.conf.task_eager_propagates = False
