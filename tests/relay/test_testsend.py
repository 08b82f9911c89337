"""Test sends against real SMTP peers: aiosmtpd (STARTTLS + AUTH) and the sandbox Exchange."""

import datetime as dt
import email
import os

import pytest
from django.utils import timezone

from connectivity import ews
from portal.audit.models import AuditEvent
from portal.jobs.models import Job
from portal.relay import testsend
from portal.relay.models import RelayClient, RelayTest
from portal.tenants.models import Tenant
from portal.tenants.sandbox import sandbox_tenant_fields
from tests.connectivity.probe_certs import make_ca, make_leaf, server_context, write_bundle
from tests.connectivity.probe_servers import PASSWORD, USER, smtp_server
from tests.relay.helpers import make_client

pytestmark = pytest.mark.django_db


@pytest.fixture(scope="module")
def pki(tmp_path_factory):
    folder = str(tmp_path_factory.mktemp("relay-pki"))
    root = make_ca("Relay Test Root")
    now = dt.datetime.now(dt.UTC)
    return {
        "dir": folder, "root_pem": root.pem().decode(),
        "good": server_context(make_leaf(root, "localhost"), folder),
        "expired": server_context(make_leaf(root, "localhost", not_before=now - dt.timedelta(
            days=400), not_after=now - dt.timedelta(days=2)), folder),
        "ca_file": write_bundle(os.path.join(folder, "root.pem"), root),
    }  # fmt: skip


def _lab(pki, port, **client_fields):
    tenant = Tenant.objects.create(
        name="Lab", kind="online", cloud="custom", accepted_domains=["contoso.test"],
        smtp_host="localhost", smtp_port=port, smtp_security="starttls",
        ca_bundle=pki["root_pem"], test_mailbox="bob@contoso.test",
    )  # fmt: skip
    fields = {"username": USER, "password": PASSWORD, "rotated_at": timezone.now(),
              "sender_addresses": [USER]}  # fmt: skip
    fields.update(client_fields)
    return make_client(tenant, "MFP", **fields)


def _send(http, client, recipient="bob@contoso.test", capture=None):
    with capture(execute=True):
        response = http.post(f"/relay/{client.pk}/test/", {"recipient": recipient})
    return response


def test_test_send_through_starttls_and_auth(
    pki, operator_client, eager_celery, django_capture_on_commit_callbacks
):
    with smtp_server(tls_context=pki["good"]) as (port, handler):
        client = _lab(pki, port)
        response = _send(operator_client, client, capture=django_capture_on_commit_callbacks)
    test = RelayTest.objects.get()
    assert response.status_code == 302 and response["Location"] == f"/relay/tests/{test.pk}/"
    assert test.status == "pass", test.steps
    assert handler.credentials == [(USER, PASSWORD)]
    [raw] = handler.messages
    message = email.message_from_bytes(raw)
    assert message["Subject"] == testsend.subject_for(test.reference)
    assert message["To"] == "bob@contoso.test" and message["From"] == USER
    names = [s["name"] for s in test.steps]
    assert names[-2:] == ["Authenticate", "Send test message"] and "STARTTLS" in names
    client.refresh_from_db()
    assert client.last_test_ok is True and client.last_success_at is not None
    assert Job.objects.get().kind == "relay.test"
    [event] = AuditEvent.objects.filter(action="relay.test_send")
    assert event.result == "success" and PASSWORD not in str(event.after)
    page = operator_client.get(f"/relay/tests/{test.pk}/").content.decode()
    assert "Send test message" in page and PASSWORD not in page
    listing = operator_client.get("/relay/").content.decode()
    assert client.last_success_at.strftime("%Y-%m-%d %H:%M") in listing


def test_wrong_password_fails_and_is_shown(
    pki, operator_client, eager_celery, django_capture_on_commit_callbacks
):
    with smtp_server(tls_context=pki["good"]) as (port, handler):
        client = _lab(pki, port, password="not-the-password")
        _send(operator_client, client, capture=django_capture_on_commit_callbacks)
    test = RelayTest.objects.get()
    assert test.status == "fail" and handler.messages == []
    auth = next(s for s in test.steps if s["name"] == "Authenticate")
    assert auth["status"] == "fail" and "535" in auth["detail"]
    client.refresh_from_db()
    assert client.last_test_ok is False and client.last_success_at is None
    assert AuditEvent.objects.get(action="relay.test_send").result == "failure"


def test_server_without_starttls_never_gets_the_credential(pki):
    with smtp_server(auth_require_tls=False) as (port, handler):
        client = _lab(pki, port)
        test = testsend.execute(RelayTest.objects.create(client=client, recipient="b@contoso.test"))
    assert handler.credentials == [] and handler.messages == []
    auth = next(s for s in test.steps if s["name"] == "Authenticate")
    assert test.status == "fail" and auth["detail"].startswith("credential not sent")


def test_expired_certificate_never_gets_the_credential(pki):
    with smtp_server(tls_context=pki["expired"]) as (port, handler):
        client = _lab(pki, port)
        test = testsend.execute(RelayTest.objects.create(client=client, recipient="b@contoso.test"))
    assert handler.credentials == [] and test.status == "fail"
    validity = next(s for s in test.steps if s["name"] == "Certificate validity")
    assert validity["status"] == "fail"


@pytest.mark.parametrize("recipient", ["bob@contoso.test\r\nBcc: x@evil.test",
                                       "bob@contoso.test>\nRCPT TO:<x@evil.test",
                                       "<bob@contoso.test>", "not-an-address"])  # fmt: skip
def test_recipient_injection_is_refused_before_any_job(pki, operator_client, recipient):
    client = _lab(pki, 2525)
    response = operator_client.post(f"/relay/{client.pk}/test/", {"recipient": recipient})
    assert response.status_code == 302 and response["Location"] == f"/relay/{client.pk}/"
    assert not RelayTest.objects.exists() and not Job.objects.exists()


@pytest.mark.parametrize("field", ["username", "password", "sender_addresses"])
def test_stored_line_breaks_never_reach_the_server(pki, field):
    """Rows written around the forms (a database edit) are still refused by the engine."""
    bad = {"username": USER + "\r\nRCPT TO:<x@evil.test>", "password": "pw\r\nQUIT",
           "sender_addresses": [USER + "\r\nBcc: x@evil.test"]}[field]  # fmt: skip
    with smtp_server(tls_context=pki["good"]) as (port, handler):
        client = _lab(pki, port, **{field: bad})
        test = testsend.execute(RelayTest.objects.create(client=client, recipient="b@contoso.test"))
    assert test.status == "error" and handler.credentials == [] and handler.messages == []
    assert "line break" in test.steps[-1]["detail"] or "CR" in test.steps[-1]["detail"]


def test_viewer_cannot_start_a_test_send(pki, viewer_client):
    client = _lab(pki, 2525)
    response = viewer_client.post(f"/relay/{client.pk}/test/", {"recipient": "b@contoso.test"})
    assert response.status_code == 403 and not RelayTest.objects.exists()


def test_internal_only_client_refuses_an_external_recipient(pki, operator_client):
    client = _lab(pki, 2525, internal_only=True)
    operator_client.post(f"/relay/{client.pk}/test/", {"recipient": "someone@fabrikam.test"})
    assert not RelayTest.objects.exists()


def test_sandbox_delivers_the_test_message_found_through_ews(sandbox_exchange):
    info = sandbox_exchange.info
    sender, recipient = info["mailboxes"][0], info["mailboxes"][1]
    tenant = Tenant.objects.create(name="Sandbox", **sandbox_tenant_fields(info))
    client = RelayClient.objects.create(
        tenant=tenant, name="Sandbox MFP", owner="Lab", owner_email=sender["address"],
        username=sender["address"], password=sender["password"], rotated_at=timezone.now(),
    )  # fmt: skip
    test = testsend.execute(RelayTest.objects.create(client=client, recipient=recipient["address"]))
    assert test.status == "pass", test.steps
    creds = ews.oauth_credentials(
        info["token_url"], info["app_client_id"], info["app_client_secret"],
        tenant_id=info["tenant_id"],
    )  # fmt: skip
    account = ews.build_account(recipient["address"], creds, ews_url=info["ews_url"],
                                ca_file=info["ca_file"], timeout=20)  # fmt: skip
    [found] = list(account.inbox.filter(subject=testsend.subject_for(test.reference)))
    assert found.sender.email_address == sender["address"]


def test_sandbox_xoauth2_with_the_stored_oauth_client(sandbox_exchange):
    info = sandbox_exchange.info
    sender, recipient = info["mailboxes"][0], info["mailboxes"][2]
    tenant = Tenant.objects.create(name="Sandbox", **sandbox_tenant_fields(info))
    client = RelayClient.objects.create(
        tenant=tenant, name="Billing app", kind="application", method="smtp_oauth",
        owner="Finance", owner_email=sender["address"], username=sender["address"],
        oauth_client_id=info["app_client_id"], oauth_client_secret=info["app_client_secret"],
        rotated_at=timezone.now(),
    )  # fmt: skip
    test = testsend.execute(RelayTest.objects.create(client=client, recipient=recipient["address"]))
    assert test.status == "pass", test.steps
    auth = next(s for s in test.steps if s["name"] == "Authenticate")
    assert auth["detail"].startswith("XOAUTH2 as ")
    assert info["app_client_secret"] not in str(test.steps)


def test_wrong_oauth_secret_is_a_step_in_words(sandbox_exchange):
    info = sandbox_exchange.info
    tenant = Tenant.objects.create(name="Sandbox", **sandbox_tenant_fields(info))
    client = RelayClient.objects.create(
        tenant=tenant, name="Billing app", kind="application", method="smtp_oauth",
        owner="Finance", owner_email="f@contoso.com", username=info["mailboxes"][0]["address"],
        oauth_client_id=info["app_client_id"], oauth_client_secret="not-the-secret",
        rotated_at=timezone.now(),
    )  # fmt: skip
    test = testsend.execute(
        RelayTest.objects.create(client=client, recipient=info["mailboxes"][1]["address"])
    )
    assert test.status == "error"
    last = test.steps[-1]
    assert last["name"] == "Stored credential" and last["hint"] == (
        "Check the OAuth client id and secret."
    )
