"""Sandbox Exchange fixtures: one in-process sandbox per test session, fresh mailboxes per test.

Tests talk to it with unmodified exchangelib (through connectivity.ews) and plain requests.
"""

import uuid

import pytest
import requests

from connectivity import ews
from connectivity.sandbox import SandboxServer


@pytest.fixture(scope="session")
def sandbox(tmp_path_factory):
    with SandboxServer(tmp_path_factory.mktemp("sandbox"), seed_mailboxes=3) as server:
        yield server


@pytest.fixture(scope="session")
def info(sandbox):
    return sandbox.info


@pytest.fixture(scope="session")
def admin(sandbox):
    client = sandbox.admin_client()
    yield client
    client.close()


@pytest.fixture(scope="session")
def app_creds(info):
    return ews.oauth_credentials(
        info["token_url"],
        info["app_client_id"],
        info["app_client_secret"],
        tenant_id=info["tenant_id"],
    )


@pytest.fixture
def new_mailbox(admin, info):
    """Factory: a fresh, empty mailbox ({address, password}) so tests do not share state."""

    def make(prefix="t", **kwargs):
        return admin.create_mailbox(f"{prefix}-{uuid.uuid4().hex[:8]}@{info['domain']}", **kwargs)

    return make


@pytest.fixture
def account_for(info, app_creds):
    """Factory: an exchangelib Account impersonating `address` with the full-access app."""

    def make(address, creds=None, **kwargs):
        kwargs.setdefault("ews_url", info["ews_url"])
        return ews.build_account(
            address, creds or app_creds, ca_file=info["ca_file"], timeout=20, **kwargs
        )

    return make


@pytest.fixture
def account(new_mailbox, account_for):
    return account_for(new_mailbox()["address"])


@pytest.fixture
def restore_policies(admin):
    """Put knobs and tenant switches back after a test that changes them."""
    yield admin
    admin.set_knobs(latency_ms=0, max_concurrency=0, failure_rate=0.0, backoff_ms=500)
    admin.set_org(ews_enabled=None, ews_allowed_app_ids=[])


def soap(info, token, body_xml, impersonate=None):
    """POST one raw EWS request (for asserting HTTP-level behaviour exchangelib hides)."""
    header = ""
    if impersonate:
        header = (
            "<s:Header><t:ExchangeImpersonation><t:ConnectingSID><t:PrimarySmtpAddress>"
            f"{impersonate}</t:PrimarySmtpAddress></t:ConnectingSID></t:ExchangeImpersonation>"
            "</s:Header>"
        )
    envelope = (
        '<?xml version="1.0" encoding="utf-8"?><s:Envelope '
        'xmlns:s="http://schemas.xmlsoap.org/soap/envelope/" '
        'xmlns:m="http://schemas.microsoft.com/exchange/services/2006/messages" '
        'xmlns:t="http://schemas.microsoft.com/exchange/services/2006/types">'
        f"{header}<s:Body>{body_xml}</s:Body></s:Envelope>"
    )
    headers = {"Content-Type": "text/xml; charset=utf-8"}
    if token:
        headers["Authorization"] = f"Bearer {token}"
    return requests.post(
        info["ews_url"], data=envelope.encode(), headers=headers, verify=info["ca_file"], timeout=20
    )


GET_INBOX = (
    "<m:GetFolder><m:FolderShape><t:BaseShape>IdOnly</t:BaseShape></m:FolderShape>"
    '<m:FolderIds><t:DistinguishedFolderId Id="inbox"/></m:FolderIds></m:GetFolder>'
)
