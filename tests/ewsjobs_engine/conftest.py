"""The EWS job engine against an in-process Sandbox Exchange (unmodified exchangelib).

Each test gets fresh mailboxes; knobs (latency, concurrency cap, back-off) are put back after
a test that changes them.
"""

import uuid

import pytest

from connectivity.ewsjobs import AppAccess, Session
from connectivity.sandbox import SandboxServer


@pytest.fixture(scope="session")
def sandbox(tmp_path_factory):
    with SandboxServer(tmp_path_factory.mktemp("ewsjobs-sandbox"), seed_mailboxes=1) as server:
        yield server


@pytest.fixture(scope="session")
def info(sandbox):
    return sandbox.info


@pytest.fixture(scope="session")
def admin(sandbox):
    client = sandbox.admin_client()
    yield client
    client.close()


@pytest.fixture
def knobs(admin):
    """The sandbox's throttling knobs, put back to none after the test."""
    yield admin
    admin.set_knobs(latency_ms=0, max_concurrency=0, failure_rate=0.0, backoff_ms=500)


@pytest.fixture
def new_mailbox(admin, info):
    def make(prefix="m", **kwargs):
        address = f"{prefix}-{uuid.uuid4().hex[:8]}@{info['domain']}"
        return admin.create_mailbox(address, **kwargs)["address"]

    return make


def app_access(info, client_id=None, client_secret=None, **fields) -> AppAccess:
    return AppAccess(
        ews_url=info["ews_url"], token_url=info["token_url"],
        client_id=client_id or info["app_client_id"],
        client_secret=client_secret or info["app_client_secret"],
        ca_file=info["ca_file"], timeout=20, **fields,
    )  # fmt: skip


@pytest.fixture
def access(info):
    """The sandbox's full-access application (scope: every mailbox)."""
    return app_access(info)


@pytest.fixture
def session(access):
    with Session(access) as s:
        yield s
