"""SMTP submission (aiosmtpd): STARTTLS, AUTH LOGIN/PLAIN against sandbox mailboxes, and
delivery of each accepted message into the recipients' sandbox Inbox."""

from __future__ import annotations

import base64
import binascii
import email.utils
import hmac
import logging
import socket
import ssl
from email import policy
from email.parser import BytesParser

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, AuthResult, LoginPassword
from lxml import etree

from . import items as it
from .soap import TNS, sub, t

log = logging.getLogger("connectivity.sandbox.smtp")


def message_element(raw: bytes) -> etree._Element:
    """Turn an RFC 5322 message into an EWS <t:Message> element."""
    msg = BytesParser(policy=policy.default).parsebytes(raw)
    elem = etree.Element(t("Message"), nsmap={"t": TNS})
    sub(elem, t("Subject"), str(msg.get("Subject", "")))
    part = msg.get_body(preferencelist=("plain", "html"))
    body = part.get_content() if part is not None else ""
    kind = "HTML" if part is not None and part.get_content_subtype() == "html" else "Text"
    sub(elem, t("Body"), body, BodyType=kind)
    if msg.get("Message-ID"):
        # A long id is folded onto its own line; unfolded it keeps the fold's leading space.
        sub(elem, t("InternetMessageId"), str(msg["Message-ID"]).strip())
    for header, tag in (("To", "ToRecipients"), ("Cc", "CcRecipients")):
        addresses = email.utils.getaddresses([str(v) for v in msg.get_all(header, [])])
        if addresses:
            holder = sub(elem, t(tag))
            for name, addr in addresses:
                it.mailbox_elem(holder, "", addr, name or addr)
    name, addr = email.utils.parseaddr(str(msg.get("From", "")))
    if addr:
        it.mailbox_elem(elem, "From", addr, name or addr)
    sent = email.utils.parsedate_to_datetime(str(msg["Date"])) if msg.get("Date") else None
    if sent is not None:
        sub(elem, t("DateTimeSent"), it.fmt(sent))
    return elem


class _Handler:
    def __init__(self, sandbox):
        self.sandbox = sandbox

    async def auth_XOAUTH2(self, server, args):
        """SASL XOAUTH2 with an app-only token, as Exchange Online's SMTP AUTH accepts it.

        The application needs a grant covering the mailbox (Exchange Online: a service principal
        plus Add-MailboxPermission for that mailbox).
        """
        from .auth import AuthError, grant_covers

        try:
            if len(args) > 1:
                text = base64.b64decode(args[1], validate=True).decode()
            else:
                answer = await server.challenge_auth("", encode_to_b64=False)  # base64-decoded
                if not isinstance(answer, bytes):
                    return AuthResult(success=False, handled=False)
                text = answer.decode()
            fields = dict(p.split("=", 1) for p in text.split("\x01") if "=" in p)
            user = fields["user"].lower()
            token = fields["auth"].removeprefix("Bearer ").strip()
            principal = self.sandbox.tokens.validate(token)
        except (ValueError, KeyError, binascii.Error, AuthError):
            log.info("SMTP AUTH XOAUTH2 refused: bad or expired token")
            return AuthResult(success=False, handled=False)
        store = self.sandbox.store
        if (
            principal.kind != "app"
            or store.get_mailbox(user) is None
            or not grant_covers(store, principal.app_id, user)
        ):
            log.info("SMTP AUTH XOAUTH2 refused: application has no grant for the mailbox")
            return AuthResult(success=False, handled=False)
        return AuthResult(success=True, auth_data=user)

    async def handle_EHLO(self, server, session, envelope, hostname, responses):
        """Offer PIPELINING (RFC 2920) before and after STARTTLS, as Exchange does.

        aiosmtpd reads and answers pipelined commands in order anyway; without the keyword a
        client (the portal's own probe among them) would send MAIL, RCPT and DATA one by one.
        """
        session.host_name = hostname  # aiosmtpd leaves this to a handle_EHLO hook
        size = [i for i, line in enumerate(responses) if line.startswith("250-SIZE")]
        at = size[0] + 1 if size else 1  # Exchange lists it right after SIZE
        return [*responses[:at], "250-PIPELINING", *responses[at:]]

    async def handle_MAIL(self, server, session, envelope, address, mail_options):
        if not session.authenticated:
            return "530 5.7.57 Client not authenticated to send mail"
        if address.lower() != session.auth_data:
            return "550 5.7.60 SMTP; Client does not have permissions to send as this sender"
        envelope.mail_from = address
        envelope.mail_options.extend(mail_options)
        return "250 2.1.0 Sender OK"

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        if self.sandbox.store.get_mailbox(address) is None:
            return (
                "550 5.1.10 RESOLVER.ADR.RecipientNotFound; Recipient not found by SMTP "
                "address lookup"
            )
        envelope.rcpt_tos.append(address)
        envelope.rcpt_options.extend(rcpt_options)
        return "250 2.1.5 Recipient OK"

    async def handle_DATA(self, server, session, envelope):
        store = self.sandbox.store
        now = it.utcnow()
        rows = []
        for rcpt in envelope.rcpt_tos:
            elem = message_element(envelope.original_content or envelope.content)
            it.mailbox_elem(elem, "Sender", envelope.mail_from.lower())  # the submitting user
            it.prepare_new(elem, now=now, is_read=False)
            inbox = store.distinguished_folder(rcpt, "inbox")
            rows.append(it.new_row(elem, rcpt, inbox))
        store.insert_items(rows)
        log.info(
            "SMTP delivered a message from %s to %d mailbox(es)", envelope.mail_from, len(rows)
        )
        return "250 2.6.0 Queued mail for delivery"


class _SMTP(SMTP):
    # An XOAUTH2 initial response carries a whole JWT: far longer than RFC 5321's 512 octets.
    line_length_limit = 16384


class _BoundController(Controller):
    """aiosmtpd Controller serving on a socket we bound ourselves (so port 0 works)."""

    def __init__(self, handler, sock: socket.socket, **kwargs):
        host, port = sock.getsockname()[:2]
        super().__init__(handler, hostname=host, port=port, **kwargs)
        self._sock = sock

    def factory(self):
        smtp = _SMTP(self.handler, **self.SMTP_kwargs)
        smtp.command_size_limits["AUTH"] = _SMTP.line_length_limit
        return smtp

    def _create_server(self):
        return self.loop.create_server(self._factory_invoker, sock=self._sock, ssl=self.ssl_context)


class SMTPServer:
    def __init__(self, sandbox, host: str, port: int = 0):
        self.sandbox = sandbox
        family = socket.AF_INET6 if ":" in host else socket.AF_INET
        self._sock = socket.socket(family, socket.SOCK_STREAM)
        self._sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self._sock.bind((host, port))
        self._sock.listen(64)
        self.port = self._sock.getsockname()[1]
        tls = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        tls.load_cert_chain(sandbox.tls.cert_file, sandbox.tls.key_file)
        self._controller = _BoundController(
            _Handler(sandbox),
            self._sock,
            server_hostname=f"mail.{sandbox.domain}",
            tls_context=tls,
            require_starttls=True,
            auth_required=True,
            auth_require_tls=True,
            authenticator=self._authenticate,
            ready_timeout=10,
        )

    def _authenticate(self, server, session, envelope, mechanism, auth_data) -> AuthResult:
        if isinstance(auth_data, LoginPassword):
            login = auth_data.login.decode(errors="replace").lower()
            row = self.sandbox.store.get_mailbox(login)
            if row is not None and hmac.compare_digest(
                row["password"].encode(), auth_data.password
            ):
                return AuthResult(success=True, auth_data=row["address"])
        log.info("SMTP AUTH %s refused", mechanism)
        # handled=False lets aiosmtpd answer "535 5.7.8 Authentication credentials invalid".
        return AuthResult(success=False, handled=False)

    def start(self) -> None:
        self._controller.start()

    def stop(self) -> None:
        self._controller.stop()
        self._sock.close()
