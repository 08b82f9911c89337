import re

import pytest
from django.contrib.auth import get_user_model
from django.core.management import call_command
from django.core.management.base import CommandError

from portal.accounts.models import OneTimeLogin
from portal.audit.models import AuditEvent
from portal.lib.access import Role, user_role

pytestmark = pytest.mark.django_db


def _link_from(output: str) -> str:
    match = re.search(r"https?://[^/]+(/accounts/one-time/[^/\s]+/)", output)
    assert match, output
    return match.group(1)


def test_createadmin_prints_a_single_use_link(client, capsys):
    call_command("createadmin", "root-admin", "--email", "root@contoso.test")
    path = _link_from(capsys.readouterr().out)
    user = get_user_model().objects.get(username="root-admin")
    assert user_role(user) == Role.ADMIN
    assert not user.has_usable_password()  # no default password, ever
    assert OneTimeLogin.objects.get().token_hash != path.split("/")[-2]  # only a hash is stored

    assert client.get(path).status_code == 200  # GET only asks; link scanners cannot use it
    response = client.post(path)
    assert response.status_code == 302
    assert response["Location"] == "/accounts/password/set/"
    # A local Admin must enrol a second factor before anything else.
    assert client.get("/")["Location"] == "/accounts/2fa/totp/activate/"
    assert client.get("/accounts/password/set/").status_code == 200

    second = type(client)().post(path)
    assert second.status_code == 400
    assert AuditEvent.objects.filter(action="auth.one_time_login", result="denied").count() == 1
    assert AuditEvent.objects.filter(action="user.create_admin").count() == 1


def test_createadmin_rejects_bad_input():
    with pytest.raises(CommandError, match="valid email"):
        call_command("createadmin", "x", "--email", "not-an-address")
    with pytest.raises(CommandError):
        call_command("createadmin", "bad name!")
    with pytest.raises(CommandError, match="hours"):
        call_command("createadmin", "ok", "--hours", "0")
    assert not get_user_model().objects.exists()


def test_createadmin_password_from_environment(monkeypatch, client):
    monkeypatch.setenv("ADMIN_PW", "short")
    with pytest.raises(CommandError, match="too short"):
        call_command("createadmin", "pw-admin", "--password-env", "ADMIN_PW")
    assert not get_user_model().objects.filter(username="pw-admin").exists()
    monkeypatch.setenv("ADMIN_PW", "a-long-and-unusual-passphrase-91")
    call_command("createadmin", "pw-admin", "--password-env", "ADMIN_PW")
    response = client.post(
        "/accounts/login/", {"login": "pw-admin", "password": "a-long-and-unusual-passphrase-91"}
    )
    assert response.status_code == 302
    assert AuditEvent.objects.filter(action="auth.login", actor_username="pw-admin").exists()


def test_bootstrap_admin_only_on_first_start(capsys):
    call_command("bootstrap_admin")
    first = capsys.readouterr().out
    assert "created the Admin account 'admin'" in first
    _link_from(first)
    call_command("bootstrap_admin")
    assert "one-time" not in capsys.readouterr().out.lower()
    assert get_user_model().objects.count() == 1


def test_failed_sign_in_is_audited(client, viewer_user):
    response = client.post("/accounts/login/", {"login": "vera-viewer", "password": "wrong"})
    assert response.status_code == 200
    event = AuditEvent.objects.get(action="auth.login_failed")
    assert event.result == "denied"
    assert event.target_label == "vera-viewer"


def test_sign_out_is_audited(viewer_client):
    response = viewer_client.post("/accounts/logout/")
    assert response.status_code == 302
    assert AuditEvent.objects.filter(action="auth.logout", actor_username="vera-viewer").exists()


def test_a_one_time_link_never_replaces_a_second_factor(client, admin_user, capsys):
    call_command("createadmin", admin_user.username)  # already an Admin with TOTP
    path = _link_from(capsys.readouterr().out)
    response = client.post(path)
    assert response.status_code == 403
    assert b"protected by a second factor" in response.content
    assert "_auth_user_id" not in client.session
    event = AuditEvent.objects.filter(action="auth.one_time_login").get()
    assert event.result == "denied" and event.after == {"reason": "account has a second factor"}
