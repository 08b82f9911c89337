"""A database dump holds no relay credential in plaintext (SQLite and PostgreSQL)."""

import os
import subprocess

import pytest
from django.db import connection

from portal.relay.models import RelayClient
from tests.relay.helpers import make_client, make_tenant

PASSWORD = "Dump-Check-Password-9931!"
OAUTH_SECRET = "dump~check~oauth~secret~5521"


def _dump() -> str:
    if connection.vendor == "sqlite":
        connection.ensure_connection()
        return "\n".join(connection.connection.iterdump())
    db = connection.settings_dict
    env = {**os.environ, "PGPASSWORD": db.get("PASSWORD") or ""}
    args = ["pg_dump", "--no-owner", "-h", db["HOST"] or "127.0.0.1", "-p",
            str(db["PORT"] or 5432), "-U", db["USER"] or "postgres", db["NAME"]]  # fmt: skip
    return subprocess.run(args, env=env, capture_output=True, text=True, check=True,
                          timeout=60).stdout  # fmt: skip


@pytest.mark.django_db(transaction=True)
def test_database_dump_contains_no_credential_in_plaintext(reauthenticated_admin_client):
    client = make_client(make_tenant())
    response = reauthenticated_admin_client.post(
        f"/relay/{client.pk}/credential/",
        {"username": "scanner@contoso.com", "password": PASSWORD},
    )
    assert response.status_code == 302  # also leaves the shown-once value in the session row
    make_client(client.tenant, "App", method="smtp_oauth", username="app@contoso.com",
                oauth_client_id="11111111-2222-3333-4444-555555555555",
                oauth_client_secret=OAUTH_SECRET)  # fmt: skip
    assert RelayClient.objects.get(name="Scanner").password == PASSWORD
    dump = _dump()
    assert "relay_relayclient" in dump and "enc1:" in dump
    assert PASSWORD not in dump and OAUTH_SECRET not in dump
