"""User management for Admins: invite, change role, deactivate — each audited, role changes
behind reauthentication; sign out everywhere; login rate limits keyed on the trusted client IP."""

import re

import pytest
from django.contrib.auth import get_user_model
from django.core import mail

from portal.audit.models import AuditEvent
from portal.lib.access import Role, user_role
from tests.conftest import PASSWORD, make_user

pytestmark = pytest.mark.django_db


def test_user_list_shows_role_and_mfa_status(admin_client, viewer_user, operator_client):
    response = admin_client.get("/accounts/users/")
    assert response.status_code == 200
    body = response.content.decode()
    assert "vera-viewer" in body and "alice-admin" in body
    assert "enrolled" in body and "none" in body  # the Admin has TOTP, the Viewer nothing
    assert operator_client.get("/accounts/users/").status_code == 403
    assert AuditEvent.objects.filter(action="access.denied", result="denied").count() == 1


def test_users_link_only_for_admins(admin_client, operator_client):
    assert b'href="/accounts/users/"' in admin_client.get("/").content
    assert b'href="/accounts/users/"' not in operator_client.get("/").content


def test_invitation_mails_a_one_time_link_and_the_invitee_sets_a_password(
    admin_client, client, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        response = admin_client.post(
            "/accounts/users/invite/",
            {"username": "nina", "email": "Nina@Contoso.test", "role": "operator"},
        )
    assert response.status_code == 302
    nina = get_user_model().objects.get(username="nina")
    assert nina.email == "nina@contoso.test"
    assert not nina.has_usable_password()
    assert user_role(nina) == Role.OPERATOR
    event = AuditEvent.objects.get(action="user.invite")
    assert event.actor_username == "alice-admin" and event.after["role"] == "operator"
    assert len(mail.outbox) == 1 and mail.outbox[0].to == ["nina@contoso.test"]
    path = re.search(r"https?://[^/]+(/accounts/one-time/[^/\s]+/)", mail.outbox[0].body).group(1)

    assert client.post(path)["Location"] == "/accounts/password/set/"
    new_password = "a-fresh-and-long-passphrase-77"
    response = client.post(
        "/accounts/password/set/", {"password1": new_password, "password2": new_password}
    )
    assert response.status_code == 302
    nina.refresh_from_db()
    assert nina.check_password(new_password)
    assert AuditEvent.objects.filter(action="auth.password_set", actor_username="nina").exists()
    assert client.get("/").status_code == 200  # an Operator needs no second factor
    assert type(client)().post(path).status_code == 400  # the link worked once


def test_invitation_refuses_duplicates_and_bad_input(admin_client, viewer_user):
    for data in (
        {"username": "vera-viewer", "email": "x@contoso.test", "role": "viewer"},
        {"username": "new", "email": "vera-viewer@example.test", "role": "viewer"},
        {"username": "new", "email": "not-an-email", "role": "viewer"},
        {"username": "new", "email": "n@contoso.test", "role": "superuser"},
    ):
        assert admin_client.post("/accounts/users/invite/", data).status_code == 400
    assert not AuditEvent.objects.filter(action="user.invite").exists()
    assert len(mail.outbox) == 0


def test_role_change_needs_reauthentication_then_is_audited(admin_client, viewer_user):
    url = f"/accounts/users/{viewer_user.pk}/role/"
    response = admin_client.post(url, {"role": "operator"})
    assert response.status_code == 302
    assert response["Location"].startswith("/accounts/reauthenticate/")
    assert user_role(get_user_model().objects.get(pk=viewer_user.pk)) == Role.VIEWER

    # Confirming the password replays the suspended change.
    response = admin_client.post(response["Location"], {"password": PASSWORD})
    assert response.status_code == 302
    assert user_role(get_user_model().objects.get(pk=viewer_user.pk)) == Role.OPERATOR
    event = AuditEvent.objects.get(action="user.role_change")
    assert (event.before, event.after) == ({"role": "viewer"}, {"role": "operator"})
    assert AuditEvent.objects.filter(action="auth.reauthenticate").exists()

    # Within the reauthentication window the next change goes straight through.
    assert admin_client.post(url, {"role": "none"}).status_code == 302
    assert user_role(get_user_model().objects.get(pk=viewer_user.pk)) == Role.NONE


def test_wrong_password_on_reauthentication_changes_nothing(admin_client, viewer_user):
    url = f"/accounts/users/{viewer_user.pk}/role/"
    location = admin_client.post(url, {"role": "admin"})["Location"]
    response = admin_client.post(location, {"password": "wrong"})
    assert response.status_code == 200
    assert user_role(get_user_model().objects.get(pk=viewer_user.pk)) == Role.VIEWER
    assert not AuditEvent.objects.filter(action="user.role_change").exists()


def _reauthenticate(client):
    client.post("/accounts/reauthenticate/", {"password": PASSWORD})


def test_deactivate_ends_sessions_and_is_audited(admin_client, viewer_user, client):
    client.post("/accounts/login/", {"login": "vera-viewer", "password": PASSWORD})
    assert client.get("/").status_code == 200
    _reauthenticate(admin_client)
    response = admin_client.post(f"/accounts/users/{viewer_user.pk}/active/", {"active": "false"})
    assert response.status_code == 302
    viewer_user.refresh_from_db()
    assert not viewer_user.is_active
    event = AuditEvent.objects.get(action="user.deactivate")
    assert event.after == {"is_active": False, "sessions_ended": 1}
    assert client.get("/").status_code == 302  # signed out
    assert (
        admin_client.post(
            f"/accounts/users/{viewer_user.pk}/active/", {"active": "true"}
        ).status_code
        == 302
    )
    assert AuditEvent.objects.filter(action="user.activate").exists()


def test_admin_cannot_demote_or_deactivate_themselves(admin_client, admin_user):
    _reauthenticate(admin_client)
    admin_client.post(f"/accounts/users/{admin_user.pk}/role/", {"role": "viewer"})
    admin_client.post(f"/accounts/users/{admin_user.pk}/active/", {"active": "false"})
    admin_user.refresh_from_db()
    assert admin_user.is_active and user_role(admin_user) == Role.ADMIN


def test_sign_out_everywhere(viewer_user):
    from django.test import Client

    first, second = Client(), Client()
    for c in (first, second):
        c.post("/accounts/login/", {"login": "vera-viewer", "password": PASSWORD})
        assert c.get("/").status_code == 200
    assert first.get("/accounts/security/").status_code == 200
    assert first.post("/accounts/sessions/sign-out-everywhere/").status_code == 302
    assert first.get("/").status_code == 302
    assert second.get("/").status_code == 302
    event = AuditEvent.objects.get(action="auth.logout_everywhere")
    assert event.after == {"other_sessions": 1}


def test_failed_logins_are_rate_limited_per_trusted_client_ip(settings, viewer_user, client):
    settings.TRUSTED_PROXY_COUNT = 1
    for _ in range(5):
        client.post(
            "/accounts/login/",
            {"login": "vera-viewer", "password": "wrong"},
            HTTP_X_FORWARDED_FOR="198.51.100.7",
        )
    # The sixth try for this account is refused even with the right password.
    response = client.post(
        "/accounts/login/",
        {"login": "vera-viewer", "password": PASSWORD},
        HTTP_X_FORWARDED_FOR="198.51.100.7",
    )
    assert response.status_code in (200, 429)
    assert client.get("/").status_code == 302
    failed = AuditEvent.objects.filter(action="auth.login_failed")
    assert failed.count() >= 5
    assert set(failed.values_list("client_ip", flat=True)) == {"198.51.100.7"}


def test_rate_limit_uses_the_portal_client_ip(settings, rf):
    from allauth.account.adapter import get_adapter

    settings.TRUSTED_PROXY_COUNT = 1
    request = rf.get("/", HTTP_X_FORWARDED_FOR="203.0.113.9, 10.0.0.1", REMOTE_ADDR="10.0.0.2")
    assert get_adapter(request).get_client_ip(request) == "10.0.0.1"
    settings.TRUSTED_PROXY_COUNT = 0
    assert get_adapter(request).get_client_ip(request) == "10.0.0.2"


def test_cache_is_shared_between_processes():
    from django.conf import settings

    backend = settings.CACHES["default"]["BACKEND"]
    assert "locmem" not in backend.lower()


def test_make_user_helper_gives_admins_totp():
    admin = make_user("root2", Role.ADMIN)
    assert admin.totp_secret
