"""IMAP4 probe: greeting, capabilities, STARTTLS, LOGIN / AUTHENTICATE, SELECT INBOX.

993 is implicit TLS, 143 plain with STARTTLS.
"""

from __future__ import annotations

import contextlib
import imaplib
import socket

from connectivity.i18n import N_
from connectivity.netguard import Resolver
from connectivity.probes import mailbox, sasl
from connectivity.probes import tls as tlsmod
from connectivity.probes.core import OnStep, ProbeResult, Recorder, Status
from connectivity.probes.mailbox import AUTH, CAPABILITIES, GREETING

STARTTLS = "STARTTLS"
SELECT = N_("Select INBOX")
DEFAULT_PORTS = {"tls": 993, "starttls": 143, "none": 143}
AUTH_METHODS = ("auto", "login", "plain", "xoauth2")


class _ProbeIMAP(imaplib.IMAP4):
    """imaplib on a socket already connected to the vetted address."""

    def __init__(self, sock: socket.socket, host: str, timeout: float):
        self._sock_in = sock
        super().__init__(host, 0, timeout)

    def _create_socket(self, timeout):
        return self._sock_in


def _text(value) -> str:
    if isinstance(value, list | tuple):
        return " ".join(_text(v) for v in value)
    if isinstance(value, bytes):
        return value.decode("utf-8", "replace")
    return str(value)


def _hints(exc: BaseException):
    if isinstance(exc, imaplib.IMAP4.error):
        return N_("server said: %(reply)s", reply=_text(exc.args)), N_(
            "See the server's reply; check server logs."
        )
    return None


def probe_imap(
    host: str,
    port: int | None = None,
    *,
    security: str = "tls",
    username: str | None = None,
    password: str | None = None,
    token: str | None = None,
    auth_method: str = "auto",
    mailbox_name: str = "INBOX",
    ca_file: str | None = None,
    timeout: float = 10.0,
    allow_link_local: bool = False,
    resolver: Resolver | None = None,
    on_step: OnStep | None = None,
) -> ProbeResult:
    """Probe an IMAP4 server. ``token`` (OAuth bearer) selects AUTHENTICATE XOAUTH2."""
    port = port or DEFAULT_PORTS.get(security, 993)
    if token and auth_method == "auto":
        auth_method = "xoauth2"
    mailbox.validate(host, port, security, auth_method, AUTH_METHODS, username, password, token)
    mailbox.reject_crlf("mailbox", mailbox_name)
    tail = [AUTH, SELECT] if username else []
    plan = mailbox.plan_for(security, tail)
    secrets = sasl.secret_forms(username, password, token)
    rec = Recorder("imap", f"{host}:{port}", plan, on_step, secrets, timeout=timeout)
    with rec:
        sock = mailbox.connect(
            rec, host, port, security, ca_file, timeout, allow_link_local, resolver
        )
        imap = None
        try:
            with rec.step(GREETING, hints=_hints) as s:
                imap = _ProbeIMAP(sock, host, timeout)
                s.detail = _text(imap.welcome)
            _session(rec, imap, host, security, ca_file, username, password, token,
                     auth_method, mailbox_name)  # fmt: skip
        finally:
            if imap is not None:
                with contextlib.suppress(Exception):
                    imap.logout()
            sock.close()
    return rec.result


def _session(rec, imap, host, security, ca_file, username, password, token, auth_method,
             mailbox_name) -> None:  # fmt: skip
    encrypted = security == "tls"
    if security == "starttls":
        with rec.step(STARTTLS, fatal=False, hints=_hints) as s:
            if "STARTTLS" not in imap.capabilities:
                s.fail(
                    N_("the server does not offer STARTTLS"),
                    N_("Enable TLS for IMAP on the server, or use port 993 (implicit TLS)."),
                )
            typ, data = imap.starttls(tlsmod.probe_context())
            s.detail = f"{typ} {_text(data)}; {imap.sock.version()}"
            encrypted = True
        if encrypted:
            tlsmod.evaluate(rec, imap.sock, host, ca_file)
        else:
            for name in tlsmod.CERT_STEPS:
                rec.record(name, Status.SKIP, N_("no TLS session"))

    with rec.step(CAPABILITIES, fatal=False, hints=_hints) as s:
        caps = list(imap.capabilities)
        auths = [c[5:] for c in caps if c.startswith("AUTH=")]
        where = N_("after TLS") if encrypted else N_("without TLS")
        s.detail = N_("%(where)s: %(list)s", where=where, list=" ".join(caps))
        if username and "LOGINDISABLED" in caps and not auths:
            s.warn(s.detail, N_("The server disables LOGIN here; use TLS or an AUTH mechanism."))

    if not username:
        return

    with rec.step(AUTH, hints=_auth_hints) as s:
        tlsmod.withhold_credential_unless_safe(s, security, encrypted, rec)
        caps = imap.capabilities
        method = auth_method
        if method == "auto":
            method = "login"
        if method == "xoauth2":
            if "AUTH=XOAUTH2" not in caps:
                s.fail(
                    N_("the server does not offer AUTH=XOAUTH2"),
                    N_(
                        "Use an endpoint that supports OAuth (Exchange Online does), or a password."
                    ),
                )
            blob = sasl.xoauth2_string(username, token).encode()
            challenges: list[bytes] = []

            def respond(challenge: bytes) -> bytes:
                # The first (empty) challenge gets the token; a second one is the server's
                # refusal, answered with an empty line to end the exchange.
                challenges.append(challenge)
                return blob if len(challenges) == 1 else b""

            try:
                typ, data = imap.authenticate("XOAUTH2", respond)
            except imaplib.IMAP4.error:
                if len(challenges) < 2:
                    raise
                refusal = sasl.xoauth2_refusal(challenges[-1])
                s.fail(N_("XOAUTH2 as %(user)s refused: %(reason)s", user=username,
                          reason=refusal), mailbox.XOAUTH2_REFUSED_HINT)  # fmt: skip
        elif method == "plain":
            blob = f"\0{username}\0{password}".encode()
            typ, data = imap.authenticate("PLAIN", lambda _challenge: blob)
        else:
            if "LOGINDISABLED" in caps:
                s.fail(
                    N_("the server refuses LOGIN on this connection (LOGINDISABLED)"),
                    N_(
                        "Connect with TLS (port 993 or STARTTLS) — servers refuse plain-text "
                        "logins on unencrypted connections."
                    ),
                )
            typ, data = imap.login(username, password)
        s.detail = N_("%(method)s as %(user)s: %(reply)s", method=method.upper(), user=username,
                      reply=f"{typ} {_text(data)}")  # fmt: skip
        if security == "none":
            s.warn(N_("%(detail)s (credential sent without encryption)", detail=s.detail),
                   N_("Use TLS (port 993)."))  # fmt: skip

    with rec.step(SELECT, hints=_hints) as s:
        typ, data = imap.select(_quote(mailbox_name), readonly=True)
        if typ != "OK":
            s.fail(N_("SELECT %(mailbox)s failed: %(reply)s", mailbox=mailbox_name,
                      reply=_text(data)), N_("Check the mailbox name."))  # fmt: skip
        s.detail = N_("%(mailbox)s: %(count)s messages", mailbox=mailbox_name, count=_text(data))


def _quote(name: str) -> str:
    return '"' + name.replace("\\", "\\\\").replace('"', '\\"') + '"'


def _auth_hints(exc: BaseException):
    if isinstance(exc, imaplib.IMAP4.error):
        return N_("login rejected: %(reply)s", reply=_text(exc.args)), mailbox.EXO_AUTH_HINT
    return None
