import datetime as dt

import pytest
from django.test import Client
from django.utils import timezone

from portal.grants.models import Application, Grant
from portal.lib.access import Role
from portal.tenants.models import Tenant
from tests.conftest import PASSWORD, make_user


@pytest.fixture
def tenant(db):
    return Tenant.objects.create(
        name="Contoso", kind="online", cloud="worldwide",
        directory_id="3f2504e0-4f89-11d3-9a0c-0305e82c3301", client_id="portal-app",
        client_secret="portal-secret", accepted_domains=["contoso.example"],
    )  # fmt: skip


@pytest.fixture
def application(tenant):
    return Application.objects.create(
        tenant=tenant, name="Archiver", owner="Records team", client_id="app-1234",
        protocols=["ews"],
    )  # fmt: skip


def make_grant(application, requester, **fields):
    values = {
        "model": Grant.Model.RBAC, "role": "Application EWS.AccessAsApp",
        "scope": Grant.Scope.LIST, "mailboxes": ["user1@contoso.example"],
        "justification": "Archiving", "ticket": "CHG-1",
        "expires_at": timezone.now() + dt.timedelta(days=30), "requested_by": requester,
    }  # fmt: skip
    values.update(fields)
    return Grant.objects.create(application=application, **values)


@pytest.fixture
def second_admin(db):
    return make_user("bob-admin", Role.ADMIN)


@pytest.fixture
def second_admin_client(second_admin):
    """Another Admin who has just confirmed their password."""
    client = Client()
    client.force_login(second_admin)
    assert client.post("/accounts/reauthenticate/", {"password": PASSWORD}).status_code == 302
    return client
