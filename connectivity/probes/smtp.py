"""SMTP probe: banner, EHLO, STARTTLS, capabilities, AUTH and an optional test message.

Ports: 587 STARTTLS (client submission), 465 implicit TLS, 25 (relay / direct send).
A credential is never sent over an unencrypted or unverified connection when encryption was asked
for: that is reported as a failed "Authenticate" step with the credential withheld.
"""

from __future__ import annotations

import smtplib
import socket

from connectivity.i18n import N_
from connectivity.netguard import Resolver
from connectivity.probes import sasl, testmessage
from connectivity.probes import tls as tlsmod
from connectivity.probes.core import (
    InvalidInput,
    OnStep,
    ProbeResult,
    Recorder,
    Status,
    reject_crlf,
    validate_host,
    validate_port,
)
from connectivity.probes.replycodes import describe
from connectivity.probes.smtpclient import ACCEPTED, MAX_LINE, ProbeSMTP, ReplyTooLong
from connectivity.probes.tcp import CONNECT, RESOLVE, open_connection

BANNER = N_("Banner")
EHLO = "EHLO"
STARTTLS = "STARTTLS"
CAPABILITIES = N_("Capabilities")
AUTH = N_("Authenticate")
SEND = N_("Send test message")

DEFAULT_PORTS = {"starttls": 587, "tls": 465, "none": 25}
SECURITY_MODES = tuple(DEFAULT_PORTS)
AUTH_METHODS = ("auto", "plain", "login", "xoauth2")
MSGID_DOMAIN = testmessage.MSGID_DOMAIN


def _auth_features(smtp: smtplib.SMTP) -> list[str]:
    return smtp.esmtp_features.get("auth", "").upper().split()


def _reply_hints(exc: BaseException):
    if isinstance(exc, ReplyTooLong):
        return (
            N_("the server sent a reply line longer than %(limit)s bytes", limit=MAX_LINE),
            N_("SMTP reply lines are short: check that this port is an SMTP service (not HTTP or "
               "another protocol) and that no device in between alters the conversation."),
        )  # fmt: skip
    if isinstance(exc, smtplib.SMTPResponseException):
        return describe(exc.smtp_code, exc.smtp_error)
    if isinstance(exc, smtplib.SMTPServerDisconnected):
        return (
            N_("the server closed the connection (%(reason)s)", reason=exc),
            N_("The server hung up: check the port/security pairing (465 is implicit TLS, 587 "
               "and 25 use STARTTLS) and the server's connection limits."),
        )  # fmt: skip
    return None


def _validate(host, port, security, auth_method, username, password, token, mail_from, rcpt_to,
              ehlo_name, subject) -> None:  # fmt: skip
    validate_host(host)
    validate_port(port)
    if security not in SECURITY_MODES:
        raise InvalidInput(f"security must be one of {', '.join(SECURITY_MODES)}")
    if auth_method not in AUTH_METHODS:
        raise InvalidInput(f"auth method must be one of {', '.join(AUTH_METHODS)}")
    for label, value in (
        ("username", username),
        ("password", password),
        ("token", token),
        ("mail from address", mail_from),
        ("recipient address", rcpt_to),
        ("EHLO name", ehlo_name),
        ("subject", subject),
    ):
        reject_crlf(label, value)
    if (mail_from is None) != (rcpt_to is None):
        raise InvalidInput("a test message needs both a sender and a recipient")
    for label, value in (("mail from address", mail_from), ("recipient address", rcpt_to)):
        if value is not None and ("@" not in value or any(c in value for c in " <>")):
            raise InvalidInput(f"{label} must be a plain address like user@example.com")
    if (password or token) and not username:
        raise InvalidInput("a password or token needs a username")
    if auth_method == "xoauth2" and not token:
        raise InvalidInput("XOAUTH2 needs a bearer token")


def probe_smtp(
    host: str,
    port: int | None = None,
    *,
    security: str = "starttls",
    username: str | None = None,
    password: str | None = None,
    token: str | None = None,
    auth_method: str = "auto",
    mail_from: str | None = None,
    rcpt_to: str | None = None,
    subject: str = "Exchange Interop Portal test message",
    ehlo_name: str | None = None,
    ca_file: str | None = None,
    timeout: float = 10.0,
    allow_link_local: bool = False,
    resolver: Resolver | None = None,
    on_step: OnStep | None = None,
) -> ProbeResult:
    """Probe an SMTP endpoint. ``token`` (an OAuth bearer token) selects SASL XOAUTH2."""
    port = port or DEFAULT_PORTS.get(security, 587)
    if token and auth_method == "auto":
        auth_method = "xoauth2"
    _validate(host, port, security, auth_method, username, password, token, mail_from, rcpt_to,
              ehlo_name, subject)  # fmt: skip

    plan = [RESOLVE, CONNECT]
    if security == "tls":
        plan += [tlsmod.HANDSHAKE, *tlsmod.CERT_STEPS, BANNER, EHLO]
    elif security == "starttls":
        plan += [BANNER, EHLO, STARTTLS, *tlsmod.CERT_STEPS]
    else:
        plan += [BANNER, EHLO]
    plan.append(CAPABILITIES)
    if username:
        plan.append(AUTH)
    if mail_from:
        plan.append(SEND)

    secrets = sasl.secret_forms(username, password, token)
    rec = Recorder("smtp", f"{host}:{port}", plan, on_step, secrets, timeout=timeout)

    smtp: ProbeSMTP | None = None
    with rec:
        sock = open_connection(
            rec, host, port, timeout=timeout, allow_link_local=allow_link_local, resolver=resolver
        )
        if security == "tls":
            try:
                sock = tlsmod.wrap(rec, sock, host, timeout)
            except BaseException:
                sock.close()
                raise
            tlsmod.evaluate(rec, sock, host, ca_file)
        local_name = ehlo_name or _address_literal(sock)
        smtp = ProbeSMTP(sock, host, local_name, timeout)
        try:
            _run(rec, smtp, host, port, security, ca_file, username, password, token,
                 auth_method, mail_from, rcpt_to, subject)  # fmt: skip
        finally:
            _close(smtp)
    return rec.result


def _address_literal(sock: socket.socket) -> str:
    """EHLO with our own address literal: no reverse lookup of our name, no DNS traffic."""
    address = sock.getsockname()[0]
    return f"[IPv6:{address}]" if ":" in address else f"[{address}]"


def _close(smtp: smtplib.SMTP) -> None:
    try:
        if smtp.sock is not None:
            smtp.sock.settimeout(2)
            smtp.quit()
    except (OSError, smtplib.SMTPException):
        pass
    finally:
        smtp.close()


def _run(rec: Recorder, smtp: ProbeSMTP, host, port, security, ca_file, username, password,
         token, auth_method, mail_from, rcpt_to, subject) -> None:  # fmt: skip
    with rec.step(BANNER, hints=_reply_hints) as s:
        code, msg = smtp.connect(host, port)
        text = msg.decode("utf-8", "replace")
        if code != 220:
            detail, hint = describe(code, text)
            s.fail(N_("expected banner (220) not received: %(detail)s", detail=detail), hint)
        s.detail = f"{code} {text}"

    with rec.step(EHLO, hints=_reply_hints) as s:
        code, msg = smtp.ehlo()
        if code != 250:
            detail, hint = describe(code, msg)
            s.fail(N_("EHLO rejected: %(detail)s", detail=detail), hint)
        extensions = ", ".join(k.upper() for k in smtp.esmtp_features) or N_("none")
        s.detail = N_("extensions: %(list)s", list=extensions)

    encrypted = security == "tls"
    if security == "starttls":
        with rec.step(STARTTLS, fatal=False, hints=_reply_hints) as s:
            if not smtp.has_extn("starttls"):
                s.fail(
                    N_("the server does not offer STARTTLS"),
                    N_("Enable TLS on the receive connector (a certificate bound to SMTP) or use "
                       "port 465 with implicit TLS if the server offers it."),
                )  # fmt: skip
            code, msg = smtp.starttls(context=tlsmod.probe_context())
            smtp.ehlo()
            s.detail = f"{code} {msg.decode('utf-8', 'replace')}; {smtp.sock.version()}"
            encrypted = True
        if encrypted:
            tlsmod.evaluate(rec, smtp.sock, host, ca_file)
        else:
            for name in tlsmod.CERT_STEPS:
                rec.record(name, Status.SKIP, N_("no TLS session"))

    with rec.step(CAPABILITIES, fatal=False) as s:
        mechs = _auth_features(smtp)
        size = smtp.esmtp_features.get("size", "").strip()
        where = N_("after TLS") if encrypted else N_("without TLS")
        s.detail = N_("%(where)s: AUTH: %(auth)s; SIZE: %(size)s", where=where,
                      auth=" ".join(mechs) or N_("not offered"),
                      size=_fmt_size(size) if size else N_("not advertised"))  # fmt: skip
        if username and not mechs:
            s.warn(
                s.detail,
                N_("The server offers no AUTH mechanism here: enable authentication on the "
                   "connector (Exchange offers AUTH only after STARTTLS on client connectors)."),
            )  # fmt: skip

    if username:
        _authenticate(rec, smtp, security, encrypted, username, password, token, auth_method)

    if mail_from:
        _send(rec, smtp, mail_from, rcpt_to, subject)


def _fmt_size(size: str) -> str:
    if size.isascii() and size.isdigit() and int(size) > 0:
        return N_("%(mb)s MB (%(bytes)s bytes)", mb=f"{int(size) / 1048576:.0f}", bytes=size)
    return size or N_("no limit")


def _authenticate(rec, smtp, security, encrypted, username, password, token, auth_method):
    with rec.step(AUTH, hints=_reply_hints) as s:
        tlsmod.withhold_credential_unless_safe(s, security, encrypted, rec)
        mechs = _auth_features(smtp)
        if not mechs:
            s.fail(
                N_("the server offers no AUTH mechanism"),
                N_("Enable authentication on the receive connector, or use a connector matched "
                   "by IP/certificate for unauthenticated relay."),
            )  # fmt: skip
        method = auth_method
        if method == "auto":
            method = "plain" if "PLAIN" in mechs else "login" if "LOGIN" in mechs else ""
        if not method or method.upper() not in mechs:
            s.fail(
                N_("no supported AUTH mechanism: server offers %(offered)s; wanted %(wanted)s",
                   offered=" ".join(mechs),
                   wanted=auth_method.upper() if auth_method != "auto" else N_("PLAIN or LOGIN")),
                N_("Choose a mechanism the server offers (Exchange Online: LOGIN, XOAUTH2)."),
            )  # fmt: skip
        smtp.user, smtp.password = username, password or ""
        if method == "xoauth2":
            blob = sasl.xoauth2_string(username, token)
            code, msg = smtp.auth(
                "XOAUTH2", lambda challenge=None: blob if challenge is None else ""
            )
        elif method == "plain":
            code, msg = smtp.auth("PLAIN", smtp.auth_plain)
        else:
            code, msg = smtp.auth("LOGIN", smtp.auth_login, initial_response_ok=False)
        s.detail = N_("%(method)s as %(user)s: %(reply)s", method=method.upper(), user=username,
                      reply=f"{code} {msg.decode('utf-8', 'replace')}")  # fmt: skip
        if security == "none" and not encrypted:
            s.warn(
                N_("%(detail)s (credential sent without encryption)", detail=s.detail),
                N_("The credential crossed the network in clear text; use STARTTLS or port "
                   "465."),
            )  # fmt: skip


def _send(rec, smtp, mail_from, rcpt_to, subject):
    with rec.step(SEND, hints=_reply_hints) as s:
        message, message_id = testmessage.build(mail_from, rcpt_to, subject)
        replies = smtp.transaction(mail_from, rcpt_to)
        for stage, code, reply in replies:
            if code not in ACCEPTED[stage]:
                if replies[-1][1] == 354:  # pipelined DATA went through: end it empty
                    _end_abandoned_message(smtp)
                detail, hint = describe(code, reply)
                s.fail(N_("%(stage)s rejected: %(detail)s", stage=stage, detail=detail), hint)
        code, reply = smtp.message(message)
        if code != 250:
            detail, hint = describe(code, reply)
            s.fail(N_("DATA rejected: %(detail)s", detail=detail), hint)
        # The Message-ID is what an admin searches for in message trace.
        s.detail = N_("accepted as %(message_id)s: %(reply)s", message_id=message_id,
                      reply=f"{code} {reply.decode('utf-8', 'replace')}")  # fmt: skip


def _end_abandoned_message(smtp: ProbeSMTP) -> None:
    """RFC 2920 3.1: a DATA accepted after its recipient was refused still needs its end."""
    try:
        smtp.send(b".\r\n")
        smtp.getreply()
    except (OSError, smtplib.SMTPException):
        pass  # the refusal already reported is what the admin needs
