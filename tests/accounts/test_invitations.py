"""Invitations: mailed through a real SMTP server when one is set up; otherwise (the console
backend, the default) the Users page says no mail went out and shows the link once, audited.
An invited person is "invited", not "active", until they first sign in."""

import contextlib
import re
import socket

import pytest
from aiosmtpd.controller import Controller
from django.core import mail

from portal.audit.models import AuditEvent
from tests.conftest import PASSWORD

pytestmark = pytest.mark.django_db

CONSOLE = {"default": {"BACKEND": "django.core.mail.backends.console.EmailBackend"}}
LINK = re.compile(r"https?://[^/\s\"<]+(/accounts/one-time/[A-Za-z0-9_-]+/)")


def _smtp(port: int) -> dict:
    options = {"host": "127.0.0.1", "port": port, "use_tls": False, "timeout": 5}
    backend = "django.core.mail.backends.smtp.EmailBackend"
    return {"default": {"BACKEND": backend, "OPTIONS": options}}


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class _Inbox:
    def __init__(self, refuse: bool = False):
        self.messages: list[str] = []
        self.refuse = refuse

    async def handle_DATA(self, server, session, envelope):  # noqa: N802
        if self.refuse:
            return "550 5.7.1 Relaying denied"
        self.messages.append(envelope.content.decode())
        return "250 OK"


@contextlib.contextmanager
def smtp_server(refuse: bool = False):
    inbox = _Inbox(refuse)
    port = _free_port()
    controller = Controller(inbox, hostname="127.0.0.1", port=port, ready_timeout=5)
    controller.start()
    try:
        yield port, inbox
    finally:
        controller.stop()


def _invite(client, username="nina"):
    data = {"username": username, "email": f"{username}@contoso.test", "role": "operator"}
    response = client.post("/accounts/users/invite/", data)
    assert response.status_code == 302 and response["Location"] == "/accounts/users/"


def _row(body: str, username: str) -> str:
    return next(r for r in re.findall(r"<tr>.*?</tr>", body, re.S) if f"<td>{username}</td>" in r)


def test_console_backend_shows_the_link_once_to_the_admin(settings, admin_client, client, capfd):
    settings.MAILERS = CONSOLE
    page = admin_client.get("/accounts/users/invite/").content.decode()
    assert "no mail will be sent" in page

    _invite(admin_client)
    response = admin_client.get("/accounts/users/")
    body = response.content.decode()
    assert "No invitation mail was sent" in body and "EMAIL_URL" in body
    path = LINK.search(body)[1]
    assert response["Cache-Control"] == "no-store"
    # Not printed to the server's console either, where a sign-in link would sit in the log.
    assert path not in capfd.readouterr().out
    assert len(mail.outbox) == 0
    (shown,) = AuditEvent.objects.filter(action="user.invite_link_shown")
    assert shown.actor_username == "alice-admin" and shown.target_label == "nina"
    assert AuditEvent.objects.get(action="user.invite").after["delivery"] == "link"

    # Shown once: the next visit no longer has it.
    again = admin_client.get("/accounts/users/").content.decode()
    assert not LINK.search(again) and "No invitation mail was sent" not in again
    assert AuditEvent.objects.filter(action="user.invite_link_shown").count() == 1

    # The link works for the person it was made for.
    assert client.post(path)["Location"] == "/accounts/password/set/"


def test_held_link_is_encrypted_in_the_session(settings, admin_client):
    settings.MAILERS = CONSOLE
    _invite(admin_client)
    held = admin_client.session["portal.invite_link"]
    assert held["url"].startswith("enc1:") and "/one-time/" not in str(held)


def test_real_mail_server_gets_the_mail_and_the_link_is_not_shown(settings, admin_client):
    with smtp_server() as (port, inbox):
        settings.MAILERS = _smtp(port)
        page = admin_client.get("/accounts/users/invite/").content.decode()
        assert "no mail will be sent" not in page
        _invite(admin_client)
    assert len(inbox.messages) == 1 and "nina@contoso.test" in inbox.messages[0]
    assert LINK.search(inbox.messages[0].replace("=\r\n", ""))
    body = admin_client.get("/accounts/users/").content.decode()
    assert "Invitation sent to nina@contoso.test." in body
    assert not LINK.search(body)
    assert not AuditEvent.objects.filter(action="user.invite_link_shown").exists()
    sent = AuditEvent.objects.get(action="user.invite_mail")
    assert sent.result == "success"
    assert AuditEvent.objects.get(action="user.invite").after["delivery"] == "email"


def test_a_refused_mail_offers_the_link_instead(settings, admin_client):
    with smtp_server(refuse=True) as (port, inbox):
        settings.MAILERS = _smtp(port)
        _invite(admin_client)
    assert inbox.messages == []
    body = admin_client.get("/accounts/users/").content.decode()
    assert "The mail server refused the invitation mail (reply 550)." in body
    assert LINK.search(body)
    failed = AuditEvent.objects.get(action="user.invite_mail")
    assert failed.result == "failure" and failed.after["reason"] == "refused 550"


def test_an_unreachable_mail_server_offers_the_link_instead(settings, admin_client):
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]  # bound, never listening: connections are refused
        settings.MAILERS = _smtp(port)
        _invite(admin_client)
    body = admin_client.get("/accounts/users/").content.decode()
    assert "the mail server did not answer" in body
    assert LINK.search(body)
    failed = AuditEvent.objects.get(action="user.invite_mail")
    assert failed.result == "failure" and failed.after["reason"] == "unreachable"


def test_invited_until_the_first_sign_in(settings, admin_client, client):
    settings.MAILERS = CONSOLE
    _invite(admin_client)
    body = admin_client.get("/accounts/users/").content.decode()
    row = _row(body, "nina")
    assert ">invited<" in row and ">active<" not in row and "no password yet" in row
    assert ">active<" in _row(body, "alice-admin")

    client.post(LINK.search(body)[1])
    client.post("/accounts/password/set/", {"password1": PASSWORD, "password2": PASSWORD})
    row = _row(admin_client.get("/accounts/users/").content.decode(), "nina")
    assert ">active<" in row and ">invited<" not in row and "password" in row


def test_only_admins_see_users_and_invite(settings, operator_client):
    settings.MAILERS = CONSOLE
    assert operator_client.get("/accounts/users/").status_code == 403
    data = {"username": "x", "email": "x@contoso.test", "role": "viewer"}
    assert operator_client.post("/accounts/users/invite/", data).status_code == 403
    assert not AuditEvent.objects.filter(action="user.invite").exists()
