"""POP3 probe: greeting, CAPA, STLS, USER/PASS or AUTH XOAUTH2, STAT.

995 is implicit TLS, 110 plain with STLS.
"""

from __future__ import annotations

import base64
import contextlib
import poplib
import socket

from connectivity.i18n import N_
from connectivity.netguard import Resolver
from connectivity.probes import mailbox, sasl
from connectivity.probes import tls as tlsmod
from connectivity.probes.core import OnStep, ProbeResult, Recorder, Status
from connectivity.probes.mailbox import AUTH, CAPABILITIES, GREETING

STARTTLS = "STARTTLS"
STAT = "STAT"
DEFAULT_PORTS = {"tls": 995, "starttls": 110, "none": 110}
AUTH_METHODS = ("auto", "user", "xoauth2")


class _ProbePOP3(poplib.POP3):
    """poplib on a socket already connected to the vetted address."""

    def __init__(self, sock: socket.socket, host: str, timeout: float):
        self._sock_in = sock
        super().__init__(host, 0, timeout)

    def _create_socket(self, timeout):
        return self._sock_in


def _text(value) -> str:
    if isinstance(value, bytes):
        return value.decode("utf-8", "replace")
    if isinstance(value, list | tuple):
        return " ".join(_text(v) for v in value)
    return str(value)


def _hints(exc: BaseException):
    if isinstance(exc, poplib.error_proto):
        return N_("server said: %(reply)s", reply=_text(exc.args)), N_(
            "See the server's reply; check server logs."
        )
    return None


def _auth_hints(exc: BaseException):
    if isinstance(exc, poplib.error_proto):
        return N_("login rejected: %(reply)s", reply=_text(exc.args)), mailbox.EXO_AUTH_HINT
    return None


def probe_pop3(
    host: str,
    port: int | None = None,
    *,
    security: str = "tls",
    username: str | None = None,
    password: str | None = None,
    token: str | None = None,
    auth_method: str = "auto",
    ca_file: str | None = None,
    timeout: float = 10.0,
    allow_link_local: bool = False,
    resolver: Resolver | None = None,
    on_step: OnStep | None = None,
) -> ProbeResult:
    """Probe a POP3 server. ``token`` (OAuth bearer) selects AUTH XOAUTH2."""
    port = port or DEFAULT_PORTS.get(security, 995)
    if token and auth_method == "auto":
        auth_method = "xoauth2"
    mailbox.validate(host, port, security, auth_method, AUTH_METHODS, username, password, token)
    plan = mailbox.plan_for(security, [AUTH, STAT] if username else [])
    secrets = sasl.secret_forms(username, password, token)
    rec = Recorder("pop3", f"{host}:{port}", plan, on_step, secrets, timeout=timeout)
    with rec:
        sock = mailbox.connect(
            rec, host, port, security, ca_file, timeout, allow_link_local, resolver
        )
        pop = None
        try:
            with rec.step(GREETING, hints=_hints) as s:
                pop = _ProbePOP3(sock, host, timeout)
                s.detail = _text(pop.welcome)
            _session(rec, pop, host, security, ca_file, username, password, token, auth_method)
        finally:
            if pop is not None:
                with contextlib.suppress(Exception):
                    pop.quit()
            sock.close()
    return rec.result


def _capa(pop: poplib.POP3) -> dict:
    try:
        return pop.capa()
    except poplib.error_proto:
        return {}


def _session(rec, pop, host, security, ca_file, username, password, token, auth_method):
    encrypted = security == "tls"
    caps = _capa(pop)
    if security == "starttls":
        with rec.step(STARTTLS, fatal=False, hints=_hints) as s:
            if "STLS" not in caps:
                s.fail(
                    N_("the server does not offer STLS"),
                    N_("Enable TLS for POP3 on the server, or use port 995 (implicit TLS)."),
                )
            reply = pop.stls(tlsmod.probe_context())
            s.detail = f"{_text(reply)}; {pop.sock.version()}"
            encrypted = True
        if encrypted:
            tlsmod.evaluate(rec, pop.sock, host, ca_file)
            caps = _capa(pop)
        else:
            for name in tlsmod.CERT_STEPS:
                rec.record(name, Status.SKIP, N_("no TLS session"))

    with rec.step(CAPABILITIES, fatal=False) as s:
        where = N_("after TLS") if encrypted else N_("without TLS")
        listed = [" ".join([k, *v]) for k, v in caps.items()]
        s.detail = N_("%(where)s: %(list)s", where=where,
                      list=", ".join(listed) or N_("CAPA not supported"))  # fmt: skip

    if not username:
        return

    with rec.step(AUTH, hints=_auth_hints) as s:
        tlsmod.withhold_credential_unless_safe(s, security, encrypted, rec)
        method = "xoauth2" if auth_method == "xoauth2" else "user"
        if method == "xoauth2":
            if "XOAUTH2" not in caps.get("SASL", []):
                s.fail(
                    N_("the server does not offer SASL XOAUTH2"),
                    N_(
                        "Use an endpoint that supports OAuth (Exchange Online does), or a password."
                    ),
                )
            blob = base64.b64encode(sasl.xoauth2_string(username, token).encode())
            pop._shortcmd("AUTH XOAUTH2")  # noqa: SLF001 - poplib has no SASL helper
            reply = pop._shortcmd(blob.decode())  # noqa: SLF001
            if reply == b"+" or reply.startswith(b"+ "):  # an error challenge, not +OK
                try:
                    challenge = base64.b64decode(reply[2:])
                except ValueError:  # not base64: say only that the token was refused
                    challenge = b""
                refusal = sasl.xoauth2_refusal(challenge)
                with contextlib.suppress(poplib.error_proto):
                    pop._shortcmd("")  # noqa: SLF001 - ends the exchange; the server says -ERR
                s.fail(N_("XOAUTH2 as %(user)s refused: %(reason)s", user=username,
                          reason=refusal), mailbox.XOAUTH2_REFUSED_HINT)  # fmt: skip
        else:
            pop.user(username)
            reply = pop.pass_(password)
        s.detail = N_("%(method)s as %(user)s: %(reply)s", method=method.upper(), user=username,
                      reply=_text(reply))  # fmt: skip
        if security == "none":
            s.warn(N_("%(detail)s (credential sent without encryption)", detail=s.detail),
                   N_("Use TLS (port 995)."))  # fmt: skip

    with rec.step(STAT, hints=_hints) as s:
        count, size = pop.stat()
        s.detail = N_("%(count)s messages, %(size)s bytes", count=count, size=size)
