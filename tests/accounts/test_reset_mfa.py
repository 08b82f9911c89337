"""`manage.py reset_mfa`: the way back for a person who lost every second factor."""

import pytest
from allauth.mfa.models import Authenticator
from django.core.management import CommandError, call_command

from portal.audit.models import AuditEvent
from tests.accounts.helpers import totp_code
from tests.conftest import PASSWORD

pytestmark = pytest.mark.django_db


def _signed_in(client, user):
    client.post("/accounts/login/", {"login": user.username, "password": PASSWORD})
    client.post("/accounts/2fa/authenticate/", {"code": totp_code(user.totp_secret)})
    assert client.get("/").status_code == 200
    return client


def test_reset_removes_every_factor_ends_sessions_and_holds_the_admin_at_enrolment(
    client, admin_user, capsys
):
    _signed_in(client, admin_user)
    call_command("reset_mfa", admin_user.username, "--no-input")
    out = capsys.readouterr().out
    assert "Removed totp from 'alice-admin'; 1 session(s) ended." in out
    assert not Authenticator.objects.filter(user=admin_user).exists()
    assert client.get("/")["Location"].startswith("/accounts/login/")  # that session is over
    event = AuditEvent.objects.get(action="mfa.remove_all")
    assert event.target_label == "alice-admin"
    assert event.before == {"factors": ["totp"]}
    assert event.after == {"factors": [], "sessions_ended": 1}

    # Signing in again with the password leads straight to enrolling a new factor.
    client.post("/accounts/login/", {"login": admin_user.username, "password": PASSWORD})
    assert client.get("/tenants/")["Location"] == "/accounts/2fa/totp/activate/"


def test_reset_asks_to_type_the_username_and_changes_nothing_otherwise(admin_user, monkeypatch):
    monkeypatch.setattr("builtins.input", lambda prompt: "someone-else")
    with pytest.raises(CommandError, match="Not confirmed"):
        call_command("reset_mfa", admin_user.username)
    assert Authenticator.objects.filter(user=admin_user).count() == 1
    assert not AuditEvent.objects.filter(action="mfa.remove_all").exists()

    monkeypatch.setattr("builtins.input", lambda prompt: "alice-admin")
    call_command("reset_mfa", admin_user.username)
    assert not Authenticator.objects.filter(user=admin_user).exists()


@pytest.mark.parametrize(
    ("username", "message"),
    [("nobody", "No account named 'nobody'"), ("vera-viewer", "has no second factor")],
)
def test_reset_refuses_unknown_accounts_and_accounts_without_factors(
    viewer_user, username, message
):
    with pytest.raises(CommandError, match=message):
        call_command("reset_mfa", username, "--no-input")
    assert not AuditEvent.objects.filter(action="mfa.remove_all").exists()
