"""MFA: Admins are held at enrolment, TOTP secrets are encrypted at rest, removal is guarded."""

import pytest
from allauth.mfa.models import Authenticator
from django.db import connection

from portal.audit.models import AuditEvent
from portal.lib.access import Role
from tests.accounts.helpers import totp_code
from tests.conftest import PASSWORD, make_user

pytestmark = pytest.mark.django_db


@pytest.fixture
def fresh_admin():
    return make_user("new-admin", Role.ADMIN, mfa=False)


def _sign_in(client, username):
    response = client.post("/accounts/login/", {"login": username, "password": PASSWORD})
    assert response.status_code == 302
    return response


@pytest.mark.parametrize("path", ["/", "/tenants/", "/audit/", "/accounts/users/", "/jobs/"])
def test_admin_without_mfa_is_held_at_enrolment(client, fresh_admin, path):
    _sign_in(client, "new-admin")
    response = client.get(path)
    assert response.status_code == 302
    assert response["Location"] == "/accounts/2fa/totp/activate/"
    # What enrolment needs stays reachable: adding a factor asks for the password once more.
    reauth = client.get("/accounts/2fa/totp/activate/")["Location"]
    assert reauth.startswith("/accounts/reauthenticate/")
    assert client.post(reauth, {"password": PASSWORD})["Location"] == "/accounts/2fa/totp/activate/"
    assert client.get("/accounts/2fa/totp/activate/").status_code == 200
    assert client.get("/accounts/2fa/").status_code == 200
    assert client.post("/accounts/logout/").status_code == 302


def test_operators_and_viewers_are_not_held(client, operator_user):
    _sign_in(client, "oscar-operator")
    assert client.get("/").status_code == 200


def test_totp_enrolment_encrypts_the_secret_and_is_audited(
    client, fresh_admin, django_capture_on_commit_callbacks
):
    _sign_in(client, "new-admin")
    client.post("/accounts/reauthenticate/", {"password": PASSWORD})
    page = client.get("/accounts/2fa/totp/activate/")
    secret = page.context["form"].secret
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post("/accounts/2fa/totp/activate/", {"code": totp_code(secret)})
    assert response.status_code == 302
    authenticator = Authenticator.objects.get(user=fresh_admin, type="totp")
    stored = authenticator.data["secret"]
    assert stored.startswith("enc1:") and secret not in stored
    with connection.cursor() as cursor:
        cursor.execute("SELECT data FROM mfa_authenticator WHERE id = %s", [authenticator.pk])
        assert secret not in str(cursor.fetchone()[0])
    assert AuditEvent.objects.filter(action="mfa.enrol", actor_username="new-admin").exists()
    assert client.get("/").status_code == 200  # enrolled: the portal opens


def test_sign_in_asks_for_the_code_and_audits_failures(client, admin_user):
    response = _sign_in(client, "alice-admin")
    assert response["Location"] == "/accounts/2fa/authenticate/"
    bad = client.post("/accounts/2fa/authenticate/", {"code": "000000"})
    assert bad.status_code == 200
    assert AuditEvent.objects.filter(action="auth.mfa_failed", result="denied").exists()
    assert client.get("/").status_code == 302  # still not signed in
    ok = client.post("/accounts/2fa/authenticate/", {"code": totp_code(admin_user.totp_secret)})
    assert ok.status_code == 302
    assert client.get("/").status_code == 200
    assert AuditEvent.objects.filter(action="auth.login", actor_username="alice-admin").exists()


def test_local_admin_cannot_remove_the_last_second_factor(admin_client, admin_user):
    admin_client.post("/accounts/reauthenticate/", {"password": PASSWORD})
    response = admin_client.post("/accounts/2fa/totp/deactivate/")
    assert Authenticator.objects.filter(user=admin_user, type="totp").exists()
    assert response.status_code in (200, 302, 403)
    assert not AuditEvent.objects.filter(action="mfa.remove").exists()


def test_viewer_may_remove_their_own_totp(
    viewer_client, viewer_user, django_capture_on_commit_callbacks
):
    from tests.accounts.helpers import enrol_totp

    enrol_totp(viewer_user)
    viewer_client.post("/accounts/reauthenticate/", {"password": PASSWORD})
    with django_capture_on_commit_callbacks(execute=True):
        response = viewer_client.post("/accounts/2fa/totp/deactivate/")
    assert response.status_code == 302
    assert not Authenticator.objects.filter(user=viewer_user, type="totp").exists()
    assert AuditEvent.objects.filter(action="mfa.remove", actor_username="vera-viewer").exists()
