"""Personas and database helpers shared by every test."""

import pytest
from django.contrib.auth import get_user_model
from django.db import connection
from django.test import Client

from portal.accounts.roles import set_role
from portal.audit import db_guard
from portal.lib.access import Role

PASSWORD = "correct-horse-battery-staple-42"
PERSONAS = {"admin": Role.ADMIN, "operator": Role.OPERATOR, "viewer": Role.VIEWER}


def make_user(username: str, role: Role):
    user = get_user_model().objects.create_user(
        username=username, email=f"{username}@example.test", password=PASSWORD
    )
    set_role(user, role)
    return user


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
