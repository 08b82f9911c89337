"""SMTP probe against aiosmtpd on loopback: STARTTLS, implicit TLS, AUTH, refusals."""

from __future__ import annotations

import pytest
from probe_certs import server_context
from probe_servers import PASSWORD, TOKEN, USER, smtp_server

from connectivity.probes import smtp as smtpmod
from connectivity.probes.core import InvalidInput, Status
from connectivity.probes.smtp import probe_smtp


@pytest.fixture(scope="module")
def server_ctx(pki):
    return server_context(pki.leaf("localhost"), pki.tmpdir)


def statuses(result):
    return {s.name: str(s.status) for s in result.steps}


def test_starttls_auth_plain_and_send(pki, server_ctx):
    with smtp_server(tls_context=server_ctx) as (port, handler):
        result = probe_smtp(
            "localhost", port, security="starttls", username=USER, password=PASSWORD,
            auth_method="plain", mail_from=USER, rcpt_to="bob@contoso.test",
            ca_file=pki.ca_file, timeout=5,
        )  # fmt: skip
    assert result.ok, result.to_dict()
    names = [s.name for s in result.steps]
    assert names == [
        "Resolve host", "TCP connect", "Banner", "EHLO", "STARTTLS",
        "TLS protocol version", "Certificate name", "Certificate validity", "Certificate chain",
        "Capabilities", "Authenticate", "Send test message",
    ]  # fmt: skip
    assert result.step("Banner").detail.startswith("220")
    caps = result.step("Capabilities").detail
    assert caps.startswith("after TLS") and "PLAIN" in caps and "LOGIN" in caps
    assert "SIZE: 10 MB" in caps
    assert "PLAIN as alice" in result.step("Authenticate").detail
    assert handler.credentials == [(USER, PASSWORD)]
    assert len(handler.messages) == 1 and b"Subject: Exchange Interop Portal" in handler.messages[0]


def test_implicit_tls_auth_login(pki, server_ctx):
    with smtp_server(implicit_tls=server_ctx) as (port, handler):
        result = probe_smtp(
            "localhost", port, security="tls", username=USER, password=PASSWORD,
            auth_method="login", ca_file=pki.ca_file, timeout=5,
        )  # fmt: skip
    assert result.ok, result.to_dict()
    assert [s.name for s in result.steps][:4] == [
        "Resolve host",
        "TCP connect",
        "TLS handshake",
        "TLS protocol version",
    ]
    assert "LOGIN as alice" in result.step("Authenticate").detail
    assert handler.credentials == [(USER, PASSWORD)]


def test_xoauth2_with_bearer_token(pki, server_ctx):
    with smtp_server(tls_context=server_ctx) as (port, handler):
        # aiosmtpd only advertises mechanisms it implements; XOAUTH2 comes from the handler
        result = probe_smtp(
            "localhost", port, username=USER, token=TOKEN, ca_file=pki.ca_file, timeout=5
        )
    assert result.ok, result.to_dict()
    assert "XOAUTH2 as alice" in result.step("Authenticate").detail
    assert TOKEN not in str(result.to_dict())


def test_wrong_password_is_535_with_hint_and_no_secret_leak(pki, server_ctx):
    with smtp_server(tls_context=server_ctx) as (port, _handler):
        result = probe_smtp(
            "localhost", port, username=USER, password="wrong-" + PASSWORD,
            ca_file=pki.ca_file, timeout=5,
        )  # fmt: skip
    assert not result.ok
    step = result.step("Authenticate")
    assert step.status == Status.FAIL
    assert step.detail.startswith("535")
    assert "rejected the user name or password" in step.detail
    assert step.hint
    assert PASSWORD not in str(result.to_dict())


def test_exchange_online_535_5_7_139_is_explained(pki, server_ctx):
    reply = "535 5.7.139 Authentication unsuccessful, SmtpClientAuthentication is disabled"
    with smtp_server(tls_context=server_ctx, reject_auth_with=reply) as (port, _):
        result = probe_smtp(
            "localhost", port, username=USER, password=PASSWORD, ca_file=pki.ca_file, timeout=5
        )
    step = result.step("Authenticate")
    assert step.status == Status.FAIL
    assert "5.7.139" in step.detail and "SMTP AUTH is disabled" in step.detail
    assert "SmtpClientAuthenticationDisabled" in step.hint
    assert "source:" in step.hint


def test_auth_offered_without_starttls_credential_withheld(pki):
    with smtp_server(auth_require_tls=False) as (port, handler):
        result = probe_smtp(
            "localhost", port, security="starttls", username=USER, password=PASSWORD,
            ca_file=pki.ca_file, timeout=5,
        )  # fmt: skip
    assert handler.credentials == []  # nothing reached the server
    got = statuses(result)
    assert got["STARTTLS"] == "fail"
    assert "does not offer STARTTLS" in result.step("STARTTLS").detail
    assert got["Certificate chain"] == "skip"
    assert "without TLS" in result.step("Capabilities").detail
    auth = result.step("Authenticate")
    assert auth.status == Status.FAIL
    assert auth.detail.startswith("credential not sent")
    assert "clear text" in auth.hint


def test_untrusted_certificate_withholds_credential(pki, server_ctx, tmp_path):
    from probe_certs import make_ca, write_bundle

    other = write_bundle(str(tmp_path / "other.pem"), make_ca("Someone Else"))
    with smtp_server(tls_context=server_ctx) as (port, handler):
        result = probe_smtp(
            "localhost", port, username=USER, password=PASSWORD, ca_file=other, timeout=5
        )
    assert handler.credentials == []
    assert result.step("Certificate chain").status == Status.FAIL
    assert "credential not sent" in result.step("Authenticate").detail


def test_security_none_sends_with_warning(pki):
    with smtp_server(auth_require_tls=False) as (port, handler):
        result = probe_smtp(
            "127.0.0.1", port, security="none", username=USER, password=PASSWORD, timeout=5
        )
    assert result.ok
    assert result.step("Authenticate").status == Status.WARN
    assert handler.credentials == [(USER, PASSWORD)]


def test_on_step_streams_each_step_in_order(pki, server_ctx):
    seen = []
    with smtp_server(tls_context=server_ctx) as (port, _):
        result = probe_smtp("localhost", port, ca_file=pki.ca_file, timeout=5, on_step=seen.append)
    assert [s.name for s in seen] == [s.name for s in result.steps]
    assert all(s.ms >= 0 for s in seen)


def test_connection_refused_skips_remaining_steps():
    from probe_servers import free_port

    result = probe_smtp("127.0.0.1", free_port(), timeout=2)
    got = statuses(result)
    assert got["TCP connect"] == "fail"
    assert "refused" in result.step("TCP connect").detail
    assert got["Banner"] == "skip" and got["EHLO"] == "skip"


@pytest.mark.parametrize(
    "kwargs",
    [
        {"mail_from": "a@b.test\r\nRCPT TO:<x@y>", "rcpt_to": "c@d.test"},
        {"mail_from": "a@b.test", "rcpt_to": "c@d.test\n"},
        {"ehlo_name": "evil\r\nMAIL FROM:<x>"},
        {"mail_from": "a@b.test", "rcpt_to": "c@d.test", "subject": "hi\r\nBcc: x@y"},
        {"username": "u\r\nRSET", "password": "p"},
        {"mail_from": "a@b.test"},
    ],
)
def test_crlf_and_bad_input_rejected_before_connecting(kwargs, monkeypatch):
    def boom(*a, **k):
        raise AssertionError("must not connect")

    monkeypatch.setattr(smtpmod, "open_connection", boom)
    with pytest.raises(InvalidInput):
        probe_smtp("localhost", 587, **kwargs)


def test_reply_table_explanations():
    from connectivity.probes.replycodes import REPLY_TABLE, describe, explain

    assert explain(550, "5.7.30 Basic authentication is not supported").enhanced == "5.7.30"
    assert "SendAs" in explain(550, "5.7.60 SMTP; Client does not have permissions").meaning
    assert "anonymous" in explain(530, "5.7.57 Client not authenticated").meaning
    assert "throttling" in explain(421, "4.7.0 Temporary server error").meaning
    detail, hint = describe(421, b"4.7.0 Too many connections")
    assert detail.startswith("421 4.7.0") and "source:" in hint
    assert all(e.source for e in REPLY_TABLE)
