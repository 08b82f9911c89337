"""Relay credentials: encrypted, shown once, reveal under control, rotation, reminders."""

import datetime as dt

import pytest
from django.core import mail
from django.core.management import call_command
from django.db import connection
from django.utils import timezone

from portal.audit.models import AuditEvent
from portal.relay.forms import generate_password
from portal.relay.models import RelayClient, Rotation
from portal.relay.tasks import send_rotation_reminders
from tests.relay.helpers import make_client, make_tenant

pytestmark = pytest.mark.django_db
SECRET = "Xk7-relay-Secret-Value-0042!"


def _set(client, pk, password=SECRET, username="scanner@contoso.com"):
    return client.post(f"/relay/{pk}/credential/", {"username": username, "password": password})


def _raw(pk, column="password"):
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT {column} FROM relay_relayclient WHERE id = %s", [pk])
        return cursor.fetchone()[0]


def test_generated_password_is_strong_and_offered(admin_client):
    values = {generate_password() for _ in range(20)}
    assert len(values) == 20 and all(len(v) == 24 for v in values)
    client = make_client(make_tenant())
    page = admin_client.get(f"/relay/{client.pk}/credential/")
    assert page["Cache-Control"] == "no-store"
    assert "A strong password was generated" in page.content.decode()


def test_credential_is_encrypted_shown_once_and_never_again(reauthenticated_admin_client):
    c = make_client(make_tenant())
    response = _set(reauthenticated_admin_client, c.pk)
    assert response.status_code == 302
    raw = _raw(c.pk)
    assert raw.startswith("enc1:") and SECRET not in raw
    assert RelayClient.objects.get().password == SECRET
    first = reauthenticated_admin_client.get(f"/relay/{c.pk}/")
    assert SECRET in first.content.decode() and first["Cache-Control"] == "no-store"
    second = reauthenticated_admin_client.get(f"/relay/{c.pk}/").content.decode()
    assert SECRET not in second
    event = AuditEvent.objects.get(action="relay.credential.set")
    assert SECRET not in str(event.after) and SECRET not in str(event.before)
    rotation = Rotation.objects.get()
    assert rotation.action == "set" and rotation.by_username == "alice-admin"


def test_rotation_keeps_history_without_values(reauthenticated_admin_client):
    c = make_client(make_tenant())
    _set(reauthenticated_admin_client, c.pk)
    reauthenticated_admin_client.get(f"/relay/{c.pk}/")  # the first value shown and gone
    _set(reauthenticated_admin_client, c.pk, password="Second-Secret-Value-77!")
    assert [r.action for r in Rotation.objects.all()] == ["rotated", "set"]
    assert AuditEvent.objects.filter(action="relay.credential.rotated").count() == 1
    page = reauthenticated_admin_client.get(f"/relay/{c.pk}/").content.decode()
    assert "Second-Secret-Value-77!" in page and SECRET not in page
    assert "rotated" in page and "alice-admin" in page


def test_setting_a_credential_needs_reauthentication(admin_client):
    c = make_client(make_tenant())
    response = _set(admin_client, c.pk)
    assert response.status_code == 302 and "/accounts/reauthenticate/" in response["Location"]
    assert RelayClient.objects.get().password == ""


@pytest.mark.parametrize("who", ["viewer_client", "operator_client"])
def test_viewer_and_operator_cannot_see_or_change_credentials(request, who):
    http = request.getfixturevalue(who)
    c = make_client(make_tenant(), username="scanner@contoso.com", password=SECRET,
                    rotated_at=timezone.now())  # fmt: skip
    assert http.get(f"/relay/{c.pk}/credential/").status_code == 403
    assert _set(http, c.pk, password="Other-Value-123456!").status_code == 403
    assert http.get(f"/relay/{c.pk}/credential/reveal/").status_code == 403
    assert http.post(f"/relay/{c.pk}/credential/reveal/",
                     {"reason": "I want to see it please"}).status_code == 403  # fmt: skip
    page = http.get(f"/relay/{c.pk}/").content.decode()
    assert SECRET not in page and "scanner@contoso.com" not in page.split("Credential")[-1]
    assert "Only portal Admins can see or change credentials." in page
    assert RelayClient.objects.get().password == SECRET


def test_reveal_needs_a_reason_is_audited_and_rate_limited(reauthenticated_admin_client):
    c = make_client(make_tenant(), username="scanner@contoso.com", password=SECRET,
                    rotated_at=timezone.now())  # fmt: skip
    url = f"/relay/{c.pk}/credential/reveal/"
    short = reauthenticated_admin_client.post(url, {"reason": "why"})
    assert SECRET not in short.content.decode()
    assert not AuditEvent.objects.filter(action="relay.credential.reveal").exists()
    for _ in range(3):
        shown = reauthenticated_admin_client.post(url, {"reason": "Re-entering it on the MFP"})
        assert SECRET in shown.content.decode() and shown["Cache-Control"] == "no-store"
    refused = reauthenticated_admin_client.post(url, {"reason": "Re-entering it on the MFP"})
    assert refused.status_code == 429 and SECRET not in refused.content.decode()
    assert "Try again later" in refused.content.decode()
    events = AuditEvent.objects.filter(action="relay.credential.reveal").order_by("seq")
    assert [e.result for e in events] == ["success"] * 3 + ["denied"]
    assert events[0].after == {"reason": "Re-entering it on the MFP"}


def test_reveal_needs_reauthentication(admin_client):
    c = make_client(make_tenant(), username="scanner@contoso.com", password=SECRET)
    response = admin_client.post(f"/relay/{c.pk}/credential/reveal/", {"reason": "long enough"})
    assert response.status_code == 302 and "/accounts/reauthenticate/" in response["Location"]


def test_credential_input_refuses_line_breaks(reauthenticated_admin_client):
    c = make_client(make_tenant())
    for username, password in (("scanner@contoso.com\r\nX: y", SECRET),
                               ("scanner@contoso.com", "abc\r\nRCPT TO:<x@y.z>")):  # fmt: skip
        response = _set(reauthenticated_admin_client, c.pk, password=password, username=username)
        assert response.status_code == 200
    assert RelayClient.objects.get().password == ""
    assert not Rotation.objects.exists()


def test_rotation_states_and_reminders_once_per_deadline(settings):
    tenant = make_tenant()
    now = timezone.now()
    fresh = make_client(tenant, "Fresh", username="a@contoso.com", password=SECRET,
                        rotated_at=now, rotation_days=90)  # fmt: skip
    due = make_client(tenant, "Due", username="b@contoso.com", password=SECRET,
                      rotated_at=now - dt.timedelta(days=80), rotation_days=90)  # fmt: skip
    late = make_client(tenant, "Late", username="c@contoso.com", password=SECRET,
                       rotated_at=now - dt.timedelta(days=100), rotation_days=90,
                       owner_email="late-owner@contoso.com")  # fmt: skip
    never = make_client(tenant, "No deadline", username="d@contoso.com", password=SECRET,
                        rotated_at=now - dt.timedelta(days=900), rotation_days=0)  # fmt: skip
    assert [c.rotation_state for c in (fresh, due, late, never)] == ["ok", "due", "overdue", "none"]
    assert send_rotation_reminders()["sent"] == 2
    assert sorted(m.subject for m in mail.outbox) == [
        "[Exchange Interop Portal] Rotate the mail credential of Due",
        "[Exchange Interop Portal] Rotate the mail credential of Late",
    ]
    late_mail = next(m for m in mail.outbox if "Late" in m.subject)
    assert late_mail.to == ["late-owner@contoso.com"] and SECRET not in late_mail.body
    assert send_rotation_reminders()["sent"] == 0  # once per deadline
    assert AuditEvent.objects.filter(action="relay.rotation_reminder").count() == 2


def test_rotate_keys_keeps_every_credential_usable(settings, reauthenticated_admin_client):
    from cryptography.fernet import Fernet

    c = make_client(make_tenant())
    _set(reauthenticated_admin_client, c.pk)
    old_raw = _raw(c.pk)
    new_key = Fernet.generate_key().decode()
    settings.FIELD_ENCRYPTION_KEYS = [new_key, *settings.FIELD_ENCRYPTION_KEYS]
    call_command("rotate_keys")
    assert _raw(c.pk) != old_raw
    settings.FIELD_ENCRYPTION_KEYS = [new_key]  # the old keys are gone now
    assert RelayClient.objects.get().password == SECRET
    rotated = AuditEvent.objects.get(action="keys.rotate").after["reencrypted"]
    assert rotated["relay.relayclient"] == 1
