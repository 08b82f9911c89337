"""Pieces shared by the IMAP4 and POP3 probes."""

from __future__ import annotations

import socket

from connectivity.i18n import N_
from connectivity.netguard import Resolver
from connectivity.probes import tls as tlsmod
from connectivity.probes.core import (
    InvalidInput,
    Recorder,
    reject_crlf,
    validate_host,
    validate_port,
)
from connectivity.probes.tcp import open_connection

SECURITY_MODES = ("tls", "starttls", "none")
GREETING = N_("Greeting")
CAPABILITIES = N_("Capabilities")
AUTH = N_("Authenticate")

EXO_AUTH_HINT = N_(
    "Check the user name (full address / UPN) and the password. For Exchange Online, Basic "
    "authentication for IMAP/POP is off: use OAuth (XOAUTH2, scopes IMAP.AccessAsUser.All / "
    "POP.AccessAsUser.All, or IMAP/POP.AccessAsApp with a service principal and "
    "Add-MailboxPermission), and make sure the protocol is enabled for the mailbox "
    "(Set-CASMailbox -ImapEnabled/-PopEnabled $true). On Exchange Server, check that the "
    "IMAP4/POP3 services run and the authentication setting allows plain-text logins over TLS."
)


XOAUTH2_REFUSED_HINT = N_(
    "The server refused the access token. Check that it was issued for this mailbox's user "
    "(delegated) or for an app with IMAP.AccessAsApp / POP.AccessAsApp and scope "
    "https://outlook.office365.com/.default, that it has not expired, and — for app-only "
    "access to Exchange Online — that New-ServicePrincipal and Add-MailboxPermission were run "
    "for this mailbox."
)


def validate(host, port, security, auth_method, methods, username, password, token) -> None:
    validate_host(host)
    validate_port(port)
    if security not in SECURITY_MODES:
        raise InvalidInput(N_("security must be one of %(list)s", list=", ".join(SECURITY_MODES)))
    if auth_method not in methods:
        raise InvalidInput(N_("auth method must be one of %(list)s", list=", ".join(methods)))
    for label, value in (("username", username), ("password", password), ("token", token)):
        reject_crlf(label, value)
    if (password or token) and not username:
        raise InvalidInput(N_("a password or token needs a username"))
    if username and not (password or token):
        raise InvalidInput(N_("a username needs a password (or token)"))
    if auth_method == "xoauth2" and not token:
        raise InvalidInput(N_("XOAUTH2 needs a bearer token"))


def plan_for(security: str, tail: list[str]) -> list[str]:
    from connectivity.probes.tcp import CONNECT, RESOLVE

    plan = [RESOLVE, CONNECT]
    if security == "tls":
        plan += [tlsmod.HANDSHAKE, *tlsmod.CERT_STEPS, GREETING]
    elif security == "starttls":
        plan += [GREETING, "STARTTLS", *tlsmod.CERT_STEPS]
    else:
        plan += [GREETING]
    return plan + [CAPABILITIES, *tail]


def connect(
    rec: Recorder,
    host: str,
    port: int,
    security: str,
    ca_file: str | None,
    timeout: float,
    allow_link_local: bool,
    resolver: Resolver | None,
) -> socket.socket:
    """Resolve, connect and (for implicit TLS) handshake + evaluate the certificate."""
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
    return sock
