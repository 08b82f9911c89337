"""Applications and grants through the pages: roles, four eyes, reauthentication, audit, expiry."""

import datetime as dt

import pytest
from django.db import connection
from django.utils import timezone

from portal.audit.models import AuditEvent
from portal.grants import lifecycle
from portal.grants.models import Application, Grant
from tests.grants.conftest import make_grant

pytestmark = pytest.mark.django_db


def events(action):
    return list(AuditEvent.objects.filter(action=action).order_by("seq"))


def grant_post(application, **over):
    data = {
        "application": application.pk, "model": "rbac", "role": "Application EWS.AccessAsApp",
        "scope": "list", "mailboxes_text": "user1@contoso.example\nuser2@contoso.example",
        "justification": "Nightly archive", "ticket": "CHG-42",
        "expires_on": (timezone.localdate() + dt.timedelta(days=60)).isoformat(),
    }  # fmt: skip
    data.update(over)
    return data


def test_admin_adds_application_with_encrypted_credential(reauthenticated_admin_client, tenant):
    response = reauthenticated_admin_client.post("/grants/applications/new/", {
        "tenant": tenant.pk, "name": "Archiver", "owner": "Records", "client_id": "app-1",
        "auth": "app_secret", "protocols": ["ews", "graph"], "status": "active",
        "credential_secret": "s3cret-value-xyz",
    })  # fmt: skip
    app = Application.objects.get(name="Archiver")
    assert response.status_code == 302
    assert app.credential_secret == "s3cret-value-xyz" and app.protocols == ["ews", "graph"]
    with connection.cursor() as cursor:
        cursor.execute("SELECT credential_secret FROM grants_application WHERE id = %s", [app.pk])
        assert "s3cret" not in cursor.fetchone()[0]
    [event] = events("grant.application.create")
    assert event.after["credential_secret"] == "********"
    page = reauthenticated_admin_client.get(f"/grants/applications/{app.pk}/")
    assert b"s3cret" not in page.content and "stored, encrypted" in page.text


def test_online_application_needs_client_id(reauthenticated_admin_client, tenant):
    response = reauthenticated_admin_client.post("/grants/applications/new/", {
        "tenant": tenant.pk, "name": "X", "owner": "Y", "auth": "app_secret", "status": "active",
    })  # fmt: skip
    assert response.status_code == 200 and "client id" in response.text
    assert not Application.objects.exists() and not events("grant.application.create")


def test_operator_and_viewer_cannot_add_applications(operator_client, viewer_client, tenant):
    data = {"tenant": tenant.pk, "name": "X", "owner": "Y", "client_id": "c", "auth": "app_secret",
            "status": "active"}  # fmt: skip
    assert operator_client.post("/grants/applications/new/", data).status_code == 403
    assert viewer_client.post("/grants/applications/new/", data).status_code == 403
    assert not Application.objects.exists()


def test_operator_requests_and_viewer_cannot(operator_client, viewer_client, application):
    assert viewer_client.post("/grants/request/", grant_post(application)).status_code == 403
    response = operator_client.post("/grants/request/", grant_post(application))
    grant = Grant.objects.get()
    assert response.status_code == 302 and grant.status == "requested"
    assert grant.mailboxes == ["user1@contoso.example", "user2@contoso.example"]
    assert grant.requested_by.username == "oscar-operator"
    assert len(events("grant.request")) == 1


@pytest.mark.parametrize("over,error", [
    ({"expires_on": ""}, "This field is required"),
    ({"expires_on": "2999-01-01"}, "at most 365 days"),
    ({"model": "impersonation"}, "removed from Exchange Online"),
    ({"scope": "list", "mailboxes_text": "not an address"}, "is not an e-mail address"),
    ({"ticket": "CHG\r\nX-Evil: 1"}, "line breaks"),
    ({"model": "access_policy", "scope": "all"}, "one mail-enabled security group"),
])  # fmt: skip
def test_bad_requests_are_refused_in_words(operator_client, application, over, error):
    response = operator_client.post("/grants/request/", grant_post(application, **over))
    assert response.status_code == 200 and error in response.text
    assert not Grant.objects.exists() and not events("grant.request")


def test_maximum_lifetime_is_configurable(operator_client, application, settings):
    settings.GRANT_MAX_LIFETIME_DAYS = 30
    response = operator_client.post("/grants/request/", grant_post(application))
    assert "at most 30 days" in response.text and not Grant.objects.exists()


def test_requester_cannot_approve_own_grant(reauthenticated_admin_client, admin_user, application):
    grant = make_grant(application, admin_user)
    page = reauthenticated_admin_client.get(f"/grants/{grant.pk}/")
    assert "another Admin must approve" in page.text
    response = reauthenticated_admin_client.post(f"/grants/{grant.pk}/status/approve/")
    assert response.status_code == 302
    grant.refresh_from_db()
    assert grant.status == "requested" and grant.decided_by is None
    [event] = events("grant.approve")
    assert event.result == "denied" and "Another Admin" in event.after["reason"]


def test_operator_cannot_approve(operator_client, operator_user, application):
    grant = make_grant(application, operator_user)
    assert operator_client.post(f"/grants/{grant.pk}/status/approve/").status_code == 403
    grant.refresh_from_db()
    assert grant.status == "requested"


def test_approval_needs_reauthentication(admin_client, operator_user, application):
    grant = make_grant(application, operator_user)
    response = admin_client.post(f"/grants/{grant.pk}/status/approve/")
    assert response.status_code == 302 and "reauthenticate" in response["Location"]
    grant.refresh_from_db()
    assert grant.status == "requested" and not events("grant.approve")


def test_full_lifecycle_one_event_each(second_admin_client, second_admin, operator_user,
                                       application):  # fmt: skip
    grant = make_grant(application, operator_user)
    c = second_admin_client
    c.post(f"/grants/{grant.pk}/status/approve/", {"note": "ok for a year"})
    grant.refresh_from_db()
    assert grant.status == "approved" and grant.decided_by == second_admin
    assert grant.decision_note == "ok for a year"
    c.post(f"/grants/{grant.pk}/status/activate/")
    grant.refresh_from_db()
    assert grant.status == "active"
    c.post(f"/grants/{grant.pk}/status/revoke/")
    grant.refresh_from_db()
    assert grant.status == "revoked" and grant.ended_at is not None
    for action in ("grant.approve", "grant.activate", "grant.revoke"):
        [event] = events(action)
        assert event.result == "success" and event.actor_username == "bob-admin"
    # A revoked grant cannot come back: refused, recorded, unchanged.
    c.post(f"/grants/{grant.pk}/status/activate/")
    grant.refresh_from_db()
    assert grant.status == "revoked"
    assert [e.result for e in events("grant.activate")] == ["success", "denied"]


def test_reject(second_admin_client, operator_user, application):
    grant = make_grant(application, operator_user)
    second_admin_client.post(f"/grants/{grant.pk}/status/reject/", {"note": "too wide"})
    grant.refresh_from_db()
    assert grant.status == "rejected" and grant.decision_note == "too wide"
    assert len(events("grant.reject")) == 1


def test_unknown_action_and_grant(second_admin_client, operator_user, application):
    grant = make_grant(application, operator_user)
    response = second_admin_client.post(f"/grants/{grant.pk}/status/explode/", follow=True)
    assert "not possible" in response.text
    assert second_admin_client.post("/grants/999/status/approve/").status_code == 404
    assert second_admin_client.get("/grants/999/").status_code == 404


def test_expiry_task_expires_live_grants_only(operator_user, application, eager_celery):
    past = timezone.now() - dt.timedelta(minutes=1)
    active = make_grant(application, operator_user, status="active", expires_at=past)
    requested = make_grant(application, operator_user, expires_at=past)
    future = make_grant(application, operator_user, status="active")
    from portal.grants.tasks import expire_and_remind

    result = expire_and_remind.delay().get()
    assert result["expired"] == [active.pk]
    statuses = dict(Grant.objects.values_list("pk", "status"))
    assert statuses == {active.pk: "expired", requested.pk: "requested", future.pk: "active"}
    [event] = events("grant.expire")
    assert event.target_id == str(active.pk) and event.result == "success"


def test_reminder_mail_once_before_expiry(operator_user, second_admin, application, mailoutbox):
    soon = make_grant(application, operator_user, status="active", decided_by=second_admin,
                      expires_at=timezone.now() + dt.timedelta(days=3))  # fmt: skip
    make_grant(application, operator_user, status="active",
               expires_at=timezone.now() + dt.timedelta(days=100))  # fmt: skip
    assert lifecycle.remind_expiring() == [soon.pk]
    assert lifecycle.remind_expiring() == []  # once only
    [mail] = mailoutbox
    assert sorted(mail.to) == ["bob-admin@example.test", "oscar-operator@example.test"]
    assert "Archiver" in mail.subject and f"/grants/{soon.pk}/" in mail.body
    [event] = events("grant.remind")
    assert event.result == "success"


def test_pages_render_for_every_role(viewer_client, operator_client, admin_client, operator_user,
                                     application):  # fmt: skip
    grant = make_grant(application, operator_user)
    for client in (viewer_client, operator_client, admin_client):
        assert client.get("/grants/").status_code == 200
        assert client.get(f"/grants/{grant.pk}/").status_code == 200
        assert client.get(f"/grants/applications/{application.pk}/").status_code == 200
    assert "Request a grant" not in viewer_client.get("/grants/").text
    assert "Approve" not in operator_client.get(f"/grants/{grant.pk}/").text
    assert viewer_client.get("/grants/request/").status_code == 403


def test_admin_edits_application_secret_replaced_censored(reauthenticated_admin_client,
                                                          application):  # fmt: skip
    data = {"name": "Archiver", "owner": "New owner", "client_id": "app-1234", "auth": "app_secret",
            "status": "active", "credential_secret": "new-secret-42"}  # fmt: skip
    response = reauthenticated_admin_client.post(f"/grants/applications/{application.pk}/edit/",
                                                 data)  # fmt: skip
    assert response.status_code == 302
    application.refresh_from_db()
    assert application.owner == "New owner" and application.credential_secret == "new-secret-42"
    [event] = events("grant.application.update")
    assert event.after["owner"] == "New owner" and "new-secret-42" not in str(event.after)
    assert event.after["credential_secret"] == "********"  # changed, value never recorded


def test_an_expired_request_cannot_be_approved(second_admin_client, operator_user, application):
    grant = make_grant(application, operator_user,
                       expires_at=timezone.now() - dt.timedelta(hours=1))  # fmt: skip
    response = second_admin_client.post(f"/grants/{grant.pk}/status/approve/", follow=True)
    assert "expiry date has passed" in response.text
    grant.refresh_from_db()
    assert grant.status == "requested"
    assert [e.result for e in events("grant.approve")] == ["denied"]
