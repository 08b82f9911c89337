"""SMTP submission: STARTTLS + AUTH, delivery into the sandbox Inbox (checked via EWS)."""

import smtplib
import ssl
import uuid
from email.message import EmailMessage

import pytest


def tls_context(info):
    return ssl.create_default_context(cafile=info["ca_file"])


def message(sender, rcpt, subject):
    msg = EmailMessage()
    msg["From"], msg["To"], msg["Subject"] = sender, rcpt, subject
    msg.set_content("Relay test body")
    return msg


@pytest.mark.parametrize("mechanism", ["LOGIN", "PLAIN"])
def test_starttls_auth_and_delivery_to_inbox(info, new_mailbox, account_for, mechanism):
    sender, rcpt = new_mailbox(), new_mailbox()
    subject = f"relay test {uuid.uuid4().hex[:6]}"
    with smtplib.SMTP(info["smtp_host"], info["smtp_port"], timeout=10) as smtp:
        smtp.ehlo()
        assert "starttls" in smtp.esmtp_features
        assert "auth" not in smtp.esmtp_features  # AUTH only after STARTTLS
        smtp.starttls(context=tls_context(info))
        smtp.ehlo()
        assert mechanism in smtp.esmtp_features["auth"].split()
        smtp.user, smtp.password = sender["address"], sender["password"]
        code, _ = smtp.auth(
            mechanism,
            getattr(smtp, f"auth_{mechanism.lower()}"),
            initial_response_ok=mechanism == "PLAIN",
        )
        assert code == 235
        refused = smtp.send_message(message(sender["address"], rcpt["address"], subject))
        assert refused == {}
    inbox = account_for(rcpt["address"]).inbox
    [found] = list(inbox.filter(subject=subject))
    assert found.body.strip() == "Relay test body"
    assert found.sender.email_address == sender["address"]
    assert found.is_read is False


def test_wrong_password_is_535(info, new_mailbox):
    me = new_mailbox()
    with smtplib.SMTP(info["smtp_host"], info["smtp_port"], timeout=10) as smtp:
        smtp.starttls(context=tls_context(info))
        with pytest.raises(smtplib.SMTPAuthenticationError) as exc:
            smtp.login(me["address"], "wrong-password")
        assert exc.value.smtp_code == 535


def test_unauthenticated_and_foreign_sender_are_refused(info, new_mailbox):
    me, other = new_mailbox(), new_mailbox()
    with smtplib.SMTP(info["smtp_host"], info["smtp_port"], timeout=10) as smtp:
        smtp.starttls(context=tls_context(info))
        smtp.ehlo()
        code, _ = smtp.mail(me["address"])
        assert code == 530
    with smtplib.SMTP(info["smtp_host"], info["smtp_port"], timeout=10) as smtp:
        smtp.starttls(context=tls_context(info))
        smtp.login(me["address"], me["password"])
        code, reply = smtp.mail(other["address"])
        assert code == 550 and b"5.7.60" in reply
        assert smtp.mail(me["address"])[0] == 250
        code, _ = smtp.rcpt(f"nobody-{uuid.uuid4().hex[:6]}@{info['domain']}")
        assert code == 550


def _xoauth2(info, user, token):
    import base64

    blob = base64.b64encode(f"user={user}\x01auth=Bearer {token}\x01\x01".encode()).decode()
    with smtplib.SMTP(info["smtp_host"], info["smtp_port"], timeout=10) as smtp:
        smtp.starttls(context=tls_context(info))
        smtp.ehlo()
        assert "XOAUTH2" in smtp.esmtp_features["auth"].split()
        return smtp.docmd("AUTH", f"XOAUTH2 {blob}")


def test_xoauth2_with_an_app_token_needs_a_grant_for_the_mailbox(info, new_mailbox):
    from connectivity import ews

    mailbox = new_mailbox()
    full = ews.fetch_token(info["token_url"], info["app_client_id"], info["app_client_secret"],
                           ca_file=info["ca_file"])["access_token"]  # fmt: skip
    limited = ews.fetch_token(info["token_url"], info["limited_client_id"],
                              info["limited_client_secret"], ca_file=info["ca_file"])  # fmt: skip
    assert _xoauth2(info, mailbox["address"], full)[0] == 235
    assert _xoauth2(info, mailbox["address"], limited["access_token"])[0] == 535
    assert _xoauth2(info, mailbox["address"], full[:-4] + "AAAA")[0] == 535


def test_ehlo_offers_pipelining_before_and_after_starttls_as_exchange_does(info):
    with smtplib.SMTP(info["smtp_host"], info["smtp_port"], timeout=10) as smtp:
        smtp.ehlo()
        assert "pipelining" in smtp.esmtp_features
        smtp.starttls(context=tls_context(info))
        smtp.ehlo()
        assert "pipelining" in smtp.esmtp_features
        lines = smtp.ehlo_resp.splitlines()
        assert lines[lines.index(b"PIPELINING") - 1].startswith(b"SIZE")  # Exchange's order


def _probe(info, sender, rcpt, subject):
    from connectivity.probes.smtp import probe_smtp

    return probe_smtp(
        info["smtp_host"], info["smtp_port"], username=sender["address"],
        password=sender["password"], mail_from=sender["address"], rcpt_to=rcpt,
        subject=subject, ca_file=info["ca_file"], timeout=10,
    )  # fmt: skip


def test_the_probe_pipelines_its_test_message_into_the_inbox(info, new_mailbox, account_for):
    sender, rcpt = new_mailbox(), new_mailbox()
    subject = f"probe test {uuid.uuid4().hex[:6]}"
    result = _probe(info, sender, rcpt["address"], subject)
    assert result.ok, result.to_dict()
    assert "PIPELINING" in result.step("EHLO").detail  # so MAIL, RCPT and DATA went in one write
    [found] = list(account_for(rcpt["address"]).inbox.filter(subject=subject))
    sent = result.step("Send test message").detail
    # The Message-ID the probe reports is the one the mailbox holds, as message trace shows it.
    assert sent.startswith(f"accepted as {found.message_id}: 250 2.6.0")


def test_a_pipelined_unknown_recipient_is_named_and_the_session_ends_cleanly(info, new_mailbox):
    sender = new_mailbox()
    nobody = f"nobody-{uuid.uuid4().hex[:6]}@{info['domain']}"
    result = _probe(info, sender, nobody, "never delivered")
    step = result.step("Send test message")
    assert step.status == "fail"
    # aiosmtpd answers the pipelined DATA with 503 (no recipient): nothing to end.
    assert step.detail.startswith("RCPT TO rejected: 550 5.1.10 RESOLVER.ADR.RecipientNotFound")
    assert [s.name for s in result.steps if s.status == "fail"] == ["Send test message"]
