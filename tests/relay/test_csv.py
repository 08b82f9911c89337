"""CSV import/export: every row validated first, errors by row and column, all or nothing."""

import csv
import io

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from portal.audit.models import AuditEvent
from portal.relay import csvio
from portal.relay.models import RelayClient
from tests.relay.helpers import make_client, make_tenant

pytestmark = pytest.mark.django_db
HEADER = ",".join(csvio.COLUMNS)


def row(**change) -> str:
    values = {
        "tenant": "Contoso", "name": "Scanner", "kind": "printer", "owner": "Facilities",
        "owner_email": "fac@contoso.com", "location": "A3", "method": "smtp_auth",
        "source_ips": "192.0.2.10 192.0.2.11", "sender_addresses": "scanner@contoso.com",
        "supports_oauth": "no", "internal_only": "yes", "smtp_host": "", "smtp_port": "",
        "smtp_security": "", "rotation_days": "90", "notes": "",
    }  # fmt: skip
    values.update(change)
    out = io.StringIO()
    csv.writer(out, lineterminator="\n", quoting=csv.QUOTE_ALL).writerow(
        [values[c] for c in csvio.COLUMNS]
    )
    return out.getvalue()


def upload(http, text: str):
    file = SimpleUploadedFile("clients.csv", text.encode(), content_type="text/csv")
    return http.post("/relay/import/", {"file": file})


def test_valid_file_imports_every_row(operator_client):
    make_tenant("Contoso")
    text = HEADER + "\n" + row() + row(name="Fax", kind="fax", internal_only="no")
    response = upload(operator_client, text)
    assert response.status_code == 302
    assert sorted(RelayClient.objects.values_list("name", flat=True)) == ["Fax", "Scanner"]
    scanner = RelayClient.objects.get(name="Scanner")
    assert scanner.source_ips == ["192.0.2.10/32", "192.0.2.11/32"] and scanner.internal_only
    assert AuditEvent.objects.filter(action="relay.create").count() == 2


def test_one_bad_row_imports_nothing_and_names_row_and_column(operator_client):
    make_tenant("Contoso")
    bad = row(name="Bad", owner_email="not-an-address") + row(name="Worse", tenant="Nowhere")
    text = HEADER + "\n" + row() + bad + row(name="Evil", location="a\rBcc: x")
    response = upload(operator_client, text)
    assert response.status_code == 400
    page = response.content.decode()
    assert "Nothing was imported" in page
    errors = csvio.import_csv(text.encode()).errors
    assert (3, "owner_email") in {(r, c) for r, c, _m in errors}
    assert (4, "tenant", "No tenant named “Nowhere”.") in errors
    assert any(r == 5 and c == "location" for r, c, _m in errors)
    assert not RelayClient.objects.exists()
    assert AuditEvent.objects.get(action="relay.import").result == "failure"


def test_unknown_or_credential_columns_are_refused(operator_client):
    make_tenant("Contoso")
    response = upload(operator_client, HEADER + ",password\n" + row().rstrip("\n") + ",pw\n")
    assert response.status_code == 400 and "Unknown column" in response.content.decode()
    assert not RelayClient.objects.exists()


def test_existing_client_is_updated_not_duplicated(operator_client):
    tenant = make_tenant("Contoso")
    make_client(tenant, "Scanner", location="Old")
    assert upload(operator_client, HEADER + "\n" + row(location="New")).status_code == 302
    assert RelayClient.objects.get().location == "New"
    event = AuditEvent.objects.get(action="relay.update")
    assert event.before["location"] == "Old" and event.after["location"] == "New"


def test_duplicate_rows_and_garbage_are_refused():
    make_tenant("Contoso")
    duplicate = csvio.import_csv((HEADER + "\n" + row() + row()).encode())
    assert (3, "name", "Same tenant and name as row 2.") in duplicate.errors
    assert not csvio.import_csv(b"\xff\xfe\x00garbage").ok
    assert not csvio.import_csv(b"").ok
    assert not RelayClient.objects.exists()


def test_export_has_no_credentials_and_round_trips(viewer_client, operator_client):
    tenant = make_tenant("Contoso")
    make_client(tenant, "Scanner", username="scanner@contoso.com", password="Never-Export-Me-1!",
                location="=HYPERLINK(\"http://evil\")", source_ips=["192.0.2.10/32"])  # fmt: skip
    response = viewer_client.get("/relay/export.csv")
    assert response["Content-Disposition"].startswith("attachment;")
    body = response.content.decode()
    assert "Never-Export-Me-1!" not in body and "password" not in body
    assert "'=HYPERLINK" in body  # a spreadsheet shows it, never runs it
    assert body.splitlines()[0] == HEADER
    RelayClient.objects.all().delete()
    assert upload(operator_client, body).status_code == 302
    assert RelayClient.objects.get().source_ips == ["192.0.2.10/32"]


def test_viewer_cannot_import(viewer_client):
    make_tenant("Contoso")
    assert upload(viewer_client, HEADER + "\n" + row()).status_code == 403
    assert not RelayClient.objects.exists()
