"""First sign-in: the one-time link, a password, then (Admins) straight to enrolment with the
reason — no second password prompt, no "Change password" form; factors listed by their names."""

import re
from urllib.parse import urlsplit

import pytest
from allauth.mfa.models import Authenticator
from allauth.mfa.recovery_codes.internal.auth import RecoveryCodes
from django.core.management import call_command

from portal.audit.models import AuditEvent
from portal.lib.access import Role
from tests.accounts.helpers import totp_code
from tests.conftest import PASSWORD, make_user

pytestmark = pytest.mark.django_db

NEW_PASSWORD = "a-fresh-and-long-passphrase-77"


def _link(capsys) -> str:
    return re.search(r"https?://[^/]+(/accounts/one-time/[^/\s]+/)", capsys.readouterr().out)[1]


def _follow_link_and_choose_password(client, path):
    assert client.post(path)["Location"] == "/accounts/password/set/"
    page = client.get("/accounts/password/set/")
    assert "Step 1 of 2" in page.content.decode()  # an Admin is told what comes next
    return client.post(
        "/accounts/password/set/", {"password1": NEW_PASSWORD, "password2": NEW_PASSWORD}
    )


def test_new_admin_goes_from_password_straight_to_enrolment(
    client, capsys, django_capture_on_commit_callbacks
):
    call_command("createadmin", "root-admin")
    response = _follow_link_and_choose_password(client, _link(capsys))
    assert response.status_code == 302
    assert response["Location"] == "/accounts/2fa/totp/activate/"

    # The password chosen seconds ago counts as a fresh authentication: no second prompt.
    page = client.get("/accounts/2fa/totp/activate/")
    assert page.status_code == 200
    body = page.content.decode()
    assert "Admins must protect their account with a second factor" in body
    assert "a password alone is not enough" in body

    code = totp_code(page.context["form"].secret)
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post("/accounts/2fa/totp/activate/", {"code": code})
    assert response["Location"] == "/accounts/2fa/recovery-codes/"
    codes = client.get("/accounts/2fa/recovery-codes/").content.decode()
    assert re.search(r'<a class="btn" href="/">\s*Continue\s*</a>', codes)
    assert client.get("/").status_code == 200  # enrolled: the dashboard opens

    events = AuditEvent.objects.filter(actor_username="root-admin")
    assert [e.after for e in events.filter(action="auth.password_set")] == [{"first_sign_in": True}]
    # Counted as fresh without pretending the person reauthenticated.
    assert not AuditEvent.objects.filter(action="auth.reauthenticate").exists()
    enrolled = sorted(e.after["type"] for e in events.filter(action="mfa.enrol"))
    assert enrolled == ["recovery_codes", "totp"]


def test_only_the_session_the_link_signed_in_gets_the_fresh_authentication(client, capsys):
    call_command("createadmin", "root-admin")
    _follow_link_and_choose_password(client, _link(capsys))
    client.post("/accounts/logout/")
    # Signing in again with the password alone is no fresh authentication for enrolment.
    client.post("/accounts/login/", {"login": "root-admin", "password": NEW_PASSWORD})
    response = client.get("/accounts/2fa/totp/activate/")
    assert response.status_code == 302
    assert response["Location"].startswith("/accounts/reauthenticate/")


def test_an_admin_held_at_enrolment_is_not_offered_the_change_password_form(client):
    make_user("new-admin", Role.ADMIN, mfa=False)
    client.post("/accounts/login/", {"login": "new-admin", "password": PASSWORD})
    assert client.get("/accounts/password/change/")["Location"] == "/accounts/2fa/totp/activate/"


def test_invited_operator_lands_on_the_dashboard_after_choosing_a_password(client):
    from portal.accounts.invitations import invite

    inviter = make_user("alice-admin", Role.ADMIN)
    invitation = invite("nina", "nina@contoso.test", Role.OPERATOR, invited_by=inviter)
    assert client.post(urlsplit(invitation.url).path)["Location"] == "/accounts/password/set/"
    assert "Step 1 of 2" not in client.get("/accounts/password/set/").content.decode()
    response = client.post(
        "/accounts/password/set/", {"password1": NEW_PASSWORD, "password2": NEW_PASSWORD}
    )
    assert response["Location"] == "/"


def test_a_password_change_returns_to_the_account_page(admin_client):
    admin_client.post("/accounts/reauthenticate/", {"password": PASSWORD})
    response = admin_client.post(
        "/accounts/password/change/",
        {"oldpassword": PASSWORD, "password1": NEW_PASSWORD, "password2": NEW_PASSWORD},
    )
    assert response.status_code == 302
    assert response["Location"] == "/accounts/security/"


def test_account_page_lists_factors_by_their_names(admin_client, admin_user):
    Authenticator.objects.create(
        user=admin_user, type=Authenticator.Type.WEBAUTHN, data={"name": "Desk YubiKey"}
    )
    RecoveryCodes.activate(admin_user)
    body = admin_client.get("/accounts/security/").content.decode()
    names = re.findall(r"<tr><td>([^<]+)</td>", body)
    assert names == ["Authenticator app", "Desk YubiKey", "Recovery codes (10 left)"]
    assert "totp" not in body and "recovery_codes" not in body


def test_an_account_without_factors_is_told_so(viewer_client):
    body = viewer_client.get("/accounts/security/").content.decode()
    assert "No second factor yet." in body
    assert "<table" not in body
