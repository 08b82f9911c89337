"""Hostile and odd input found by a crawl: refused in words, nothing changes, never a 500."""

import socket
import threading

import pytest
from django.core.exceptions import ValidationError

from portal.audit.api import record
from portal.audit.models import AuditEvent
from portal.lib.validators import ascii_int, normalize_host, validate_single_line
from portal.runs import runner
from portal.runs.models import ProbeRun, RunStatus
from portal.tenants.models import Tenant, parse_dns_server
from tests.tenants.test_tenants import VALID

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize(
    "value,expected",
    [
        ("Mail.Contoso.com", "mail.contoso.com"),
        ("mail.contoso.com.", "mail.contoso.com"),
        ("exchange01", "exchange01"),
        ("192.0.2.10", "192.0.2.10"),
        ("[::1]", "::1"),
        ("::1", "::1"),
        ("[2001:DB8:0:0::25]", "2001:db8::25"),
        ("1.2.3.4.example.net", "1.2.3.4.example.net"),
    ],
)
def test_hosts_that_are_accepted_and_how_they_are_stored(value, expected):
    assert normalize_host(value) == expected


@pytest.mark.parametrize(
    "value",
    [
        "1e309", "12345678901234567890123456", "256.1.1.1", "1.2.3", "01.2.3.4", "0x7f.0.0.1",
        "mail.1e5", "[::1", "[:::1]", "2001:db8::g", "bad host", "evil.com\r\nRCPT TO:<x@y>",
        "-lead.example.com", "a" * 64 + ".example.com", "host\u2028name", "x.example.com\x00",
    ],
)  # fmt: skip
def test_hosts_that_are_refused(value):
    with pytest.raises(ValidationError):
        normalize_host(value)


@pytest.mark.parametrize("value", ["a\rb", "a\nb", "a\x00b", "a\tb", "a\u2028b", "a\u202eb"])
def test_single_line_refuses_control_characters(value):
    with pytest.raises(ValidationError, match="one line"):
        validate_single_line(value)


def test_single_line_keeps_ordinary_text():
    for value in ("Contoso Ltd", "Контора «Рога и копыта»", "svc-probe@contoso.com", "a\u200cb"):
        validate_single_line(value)


def test_ascii_int_refuses_other_digits():
    assert ascii_int("42") == 42
    for value in ("²", "١٢", "-1", "1.5", "", None, "4 2"):
        assert ascii_int(value) is None
    assert parse_dns_server("192.0.2.53:²") is None
    assert parse_dns_server("192.0.2.53:5353") == ("192.0.2.53", 5353)


def test_accounts_sessions_page_answers(viewer_client):
    response = viewer_client.get("/accounts/sessions/")
    assert response.status_code == 200
    assert b"Sessions" in response.content or b"sessions" in response.content


@pytest.mark.parametrize("param", ["before", "after"])
@pytest.mark.parametrize("value", ["²", "١", "-3", "1e3", "abc"])
def test_audit_paging_ignores_non_ascii_numbers(viewer_client, param, value):
    record("test.event", target={"type": "test", "id": "1", "label": "one"})
    response = viewer_client.get("/audit/", {param: value})
    assert response.status_code == 200
    assert b"test.event" in response.content


def test_audit_paging_by_seq_still_works(viewer_client):
    events = [
        record("test.event", target={"type": "test", "id": str(i), "label": f"n{i}"})
        for i in range(3)
    ]
    response = viewer_client.get("/audit/", {"before": str(events[-1].seq)})
    seqs = [e.seq for e in response.context["events"]]
    assert seqs[:2] == [events[1].seq, events[0].seq]
    assert all(s < events[-1].seq for s in seqs)


@pytest.mark.parametrize("value", [None, "", "yes", "False", "1", "true\n"])
def test_activation_refuses_anything_but_true_or_false(
    reauthenticated_admin_client, viewer_user, value
):
    data = {} if value is None else {"active": value}
    before = AuditEvent.objects.count()
    response = reauthenticated_admin_client.post(f"/accounts/users/{viewer_user.pk}/active/", data)
    assert response.status_code == 400
    assert "was not changed" in response.content.decode()
    viewer_user.refresh_from_db()
    assert viewer_user.is_active
    assert AuditEvent.objects.count() == before


@pytest.mark.parametrize(
    "change,field",
    [
        ({"smtp_host": "1e309"}, "smtp_host"),
        ({"imap_host": "12345678901234567890123456"}, "imap_host"),
        ({"pop_host": "[::1"}, "pop_host"),
        ({"directory_id": "contoso.onmicrosoft.com\r\nX-Injected: 1"}, "directory_id"),
        ({"client_id": "1111\r\n2222"}, "client_id"),
        ({"auth_method": "ntlm", "kind": "server",
          "ews_url": "https://mail.contoso.com/EWS/Exchange.asmx",
          "username": "CONTOSO\\svc\r\nGet-Mailbox", "password": "pw"}, "username"),
        ({"name": "Contoso\nLtd"}, "name"),
        ({"dns_server": "192.0.2.53:²"}, "dns_server"),
    ],
)  # fmt: skip
def test_tenant_form_refuses_hostile_values(reauthenticated_admin_client, change, field):
    response = reauthenticated_admin_client.post("/tenants/new/", {**VALID, **change})
    assert response.status_code == 200
    assert field in response.context["form"].errors
    assert not Tenant.objects.exists()


def test_tenant_ipv6_host_is_stored_bare(reauthenticated_admin_client):
    response = reauthenticated_admin_client.post("/tenants/new/", {**VALID, "smtp_host": "[::1]"})
    assert response.status_code == 302
    assert Tenant.objects.get().smtp_host == "::1"


@pytest.mark.parametrize("host", ["1e309", "99999999999999999999999999", "[::1"])
def test_adhoc_refuses_numbers_that_are_not_addresses(operator_client, host):
    form = {"probe": "tcp", "host": host, "port": "25"}
    response = operator_client.post("/connectivity/adhoc/", form)
    assert response.status_code == 200
    assert "host" in response.context["form"].errors
    assert not ProbeRun.objects.exists()


def test_adhoc_ipv6_literal_resolves_and_connects(operator_client):
    server = socket.socket(socket.AF_INET6, socket.SOCK_STREAM)
    server.bind(("::1", 0))
    server.listen(1)
    port = server.getsockname()[1]
    accepted = threading.Thread(target=lambda: server.accept()[0].close(), daemon=True)
    accepted.start()
    try:
        response = operator_client.post(
            "/connectivity/adhoc/", {"probe": "tcp", "host": "[::1]", "port": str(port)}
        )
        assert response.status_code == 302
        run = ProbeRun.objects.get()
        assert run.params["host"] == "::1"
        runner.execute(run)  # the worker's code path, in this process
        run.refresh_from_db()
        assert run.status == RunStatus.PASS, run.steps
    finally:
        accepted.join(timeout=5)
        server.close()


def test_a_request_for_another_host_gets_the_plain_bad_request_page(anon_client):
    response = anon_client.get("/", HTTP_HOST="evil.example")
    assert response.status_code == 400
    assert "Nothing was changed" in response.content.decode()


@pytest.mark.parametrize(
    "field,value",
    [("username", "bob\r\nX-Injected: 1"), ("email", "bob@contoso.com\r\nBcc: x@y.z")],
)
def test_invitation_refuses_line_breaks(admin_client, field, value):
    from django.contrib.auth import get_user_model

    data = {"username": "bob", "email": "bob@contoso.com", "role": "viewer", field: value}
    response = admin_client.post("/accounts/users/invite/", data)
    assert response.status_code == 400
    assert field in response.context["form"].errors
    assert not get_user_model().objects.filter(username__startswith="bob").exists()
