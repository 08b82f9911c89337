"""Relay clients: inventory pages, roles, audit and refused input."""

import pytest

from portal.audit.models import AuditEvent
from portal.relay.models import RelayClient
from tests.relay.helpers import form_data, make_client, make_tenant

pytestmark = pytest.mark.django_db


def test_operator_creates_a_client_with_one_audit_event(operator_client):
    tenant = make_tenant()
    response = operator_client.post("/relay/new/", form_data(tenant))
    client = RelayClient.objects.get()
    assert response.status_code == 302 and response["Location"] == f"/relay/{client.pk}/"
    assert client.source_ips == ["192.0.2.10/32", "192.0.2.0/28"]
    assert client.sender_addresses == ["scanner@contoso.com"]
    events = AuditEvent.objects.filter(action="relay.create")
    assert events.count() == 1 and events.get().after["name"] == "Scanner 3rd floor"


def test_list_shows_clients_limits_and_readiness(viewer_client):
    tenant = make_tenant()
    make_client(tenant, "Fax gateway")
    page = viewer_client.get("/relay/").content.decode()
    assert "Fax gateway" in page and "Basic SMTP AUTH off by default 2026-12-31" in page
    detail = viewer_client.get(f"/relay/{RelayClient.objects.get().pk}/").content.decode()
    assert "30 messages per minute per mailbox" in detail
    assert "10,000 recipients per day per mailbox" in detail


def test_empty_list_says_what_to_do(viewer_client):
    page = viewer_client.get("/relay/").content.decode()
    assert "No relay clients yet" in page and "Ask a portal Operator or Admin" in page


def test_viewer_cannot_create_edit_or_delete(viewer_client):
    tenant = make_tenant()
    client = make_client(tenant)
    assert viewer_client.post("/relay/new/", form_data(tenant, name="X")).status_code == 403
    edit = viewer_client.post(f"/relay/{client.pk}/edit/", form_data(tenant, name="Renamed"))
    assert edit.status_code == 403
    gone = viewer_client.post(f"/relay/{client.pk}/delete/", {"confirm_name": client.name})
    assert gone.status_code == 403
    assert list(RelayClient.objects.values_list("name", flat=True)) == ["Scanner"]
    assert not AuditEvent.objects.filter(action__startswith="relay.").exists()


def test_edit_records_only_what_changed(operator_client):
    tenant = make_tenant()
    operator_client.post("/relay/new/", form_data(tenant))
    client = RelayClient.objects.get()
    response = operator_client.post(f"/relay/{client.pk}/edit/",
                                    form_data(tenant, location="Basement"))  # fmt: skip
    assert response.status_code == 302
    event = AuditEvent.objects.get(action="relay.update")
    assert event.before == {"location": "Building A, 3rd floor"}
    assert event.after == {"location": "Basement"}


def test_delete_needs_the_exact_name(operator_client):
    client = make_client(make_tenant())
    wrong = operator_client.post(f"/relay/{client.pk}/delete/", {"confirm_name": "nope"})
    assert wrong.status_code == 400 and RelayClient.objects.exists()
    right = operator_client.post(f"/relay/{client.pk}/delete/", {"confirm_name": client.name})
    assert right.status_code == 302 and not RelayClient.objects.exists()
    assert AuditEvent.objects.filter(action="relay.delete").count() == 1


def test_operator_cannot_delete_a_client_holding_a_credential(operator_client):
    client = make_client(make_tenant(), username="scanner@contoso.com", password="Pw-123456789!")
    response = operator_client.post(f"/relay/{client.pk}/delete/", {"confirm_name": client.name})
    assert response.status_code == 403 and RelayClient.objects.exists()


@pytest.mark.parametrize("field", ["name", "owner", "owner_email", "location", "smtp_host",
                                   "source_ips_text", "sender_addresses_text"])  # fmt: skip
@pytest.mark.parametrize("payload", ["x\r\nBcc: v@example.com", "x\nRCPT TO:<a@b.c>", "x\x00y"])
def test_header_injection_is_refused_in_every_field(operator_client, field, payload):
    tenant = make_tenant()
    value = "scanner@contoso.com" + payload if "email" in field or "sender" in field else payload
    response = operator_client.post("/relay/new/", form_data(tenant, **{field: value}))
    assert response.status_code == 200
    assert "Nothing was saved" in response.content.decode()
    assert not RelayClient.objects.exists()


@pytest.mark.parametrize("change", [
    {"source_ips_text": "not-an-ip"}, {"sender_addresses_text": "nobody"},
    {"method": "connector", "source_ips_text": ""}, {"smtp_port": "70000"},
    {"owner_email": "facilities"}, {"kind": "toaster"}, {"rotation_days": "-1"},
])  # fmt: skip
def test_bad_input_is_refused_in_words(operator_client, change):
    response = operator_client.post("/relay/new/", form_data(make_tenant(), **change))
    assert response.status_code == 200 and "Nothing was saved" in response.content.decode()
    assert not RelayClient.objects.exists()


def test_unknown_tenant_is_refused(operator_client):
    data = {**form_data(make_tenant()), "tenant": "999"}
    assert operator_client.post("/relay/new/", data).status_code == 200
    assert not RelayClient.objects.exists()


def test_names_are_unique_per_tenant(operator_client):
    first, second = make_tenant("A"), make_tenant("B")
    make_client(first, "Scanner 3rd floor")
    assert operator_client.post("/relay/new/", form_data(first)).status_code == 200
    assert operator_client.post("/relay/new/", form_data(second)).status_code == 302


def test_unknown_client_is_404(viewer_client):
    assert viewer_client.get("/relay/999/").status_code == 404


def test_list_queries_do_not_grow_with_rows(viewer_client, django_assert_max_num_queries):
    tenant = make_tenant()
    for i in range(3):
        make_client(tenant, f"C{i}")
    with django_assert_max_num_queries(30) as small:
        viewer_client.get("/relay/")
    for i in range(3, 30):
        make_client(tenant, f"C{i}")
    with django_assert_max_num_queries(len(small.captured_queries)):
        viewer_client.get("/relay/")


def test_htmx_requests_get_the_page_content(reauthenticated_admin_client):
    """An htmx request (HX-Request) gets the page's content partial, never an error."""
    client = make_client(make_tenant(), username="s@contoso.com", password="Pw-123456789!")
    pages = [
        "",
        f"{client.pk}/",
        "new/",
        f"{client.pk}/edit/",
        f"{client.pk}/delete/",
        f"{client.pk}/credential/",
        f"{client.pk}/credential/reveal/",
        "import/",
        "tiles/",
    ]
    for url in (f"/relay/{page}" for page in pages):
        response = reauthenticated_admin_client.get(url, headers={"HX-Request": "true"})
        assert response.status_code == 200, url
        assert b"<html" not in response.content, url
