"""The SMTP probe's test message, as bytes.

``email.message.EmailMessage`` parses every header it is given into a header object and folds it
again on output: about 0.6 ms of CPU per message, a fifth of a whole SMTP probe.  The test message
is always the same shape (plain addresses, a short ASCII subject, a generated Message-ID), so for
that shape the bytes are written directly.  Anything else — a subject that needs encoding or
folding, an address that is not a plain ``local@domain`` — goes through ``EmailMessage`` as
before.  Both paths give the same bytes for the same input (tests/connectivity compares them).

Lines end in CRLF, as SMTP requires (RFC 5321 2.3.8): servers that refuse bare line feeds
(they are how SMTP smuggling works) would otherwise reject the probe's message.
"""

from __future__ import annotations

import email.utils
import re
from email.message import EmailMessage

MSGID_DOMAIN = "exchange-interop.invalid"
BODY = "Test message sent by the Exchange Interop Portal connectivity probe.\n"
MAX_LINE = 78  # email.policy.default.max_line_length: longer header lines are folded

_ATOM = r"[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+"
_PLAIN_ADDRESS = re.compile(rf"{_ATOM}(?:\.{_ATOM})*@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*")
_PLAIN_TEXT = re.compile(r"[\x20-\x7e]+")
_DATE = re.compile(r"[A-Z][a-z]{2}, \d{2} [A-Z][a-z]{2} \d{4} \d{2}:\d{2}:\d{2} [+-]\d{4}")
_MSGID = re.compile(r"<[A-Za-z0-9.!#$%&'*+/=?^_`{|}~-]+@[A-Za-z0-9.-]+>")

_TRAILER = (
    'Content-Type: text/plain; charset="utf-8"\r\n'
    "Content-Transfer-Encoding: 7bit\r\n"
    "MIME-Version: 1.0\r\n"
    "\r\n" + BODY.replace("\n", "\r\n")
).encode("ascii")


def new_message_id() -> str:
    return email.utils.make_msgid("probe", domain=MSGID_DOMAIN)


def build(mail_from: str, rcpt_to: str, subject: str, date: str | None = None,
          message_id: str | None = None) -> tuple[bytes, str]:  # fmt: skip
    """(message bytes, Message-ID) for the probe's test message."""
    date = date or email.utils.formatdate(localtime=False)
    message_id = message_id or new_message_id()
    fast = _direct(mail_from, rcpt_to, subject, date, message_id)
    if fast is not None:
        return fast, message_id
    return build_with_email_package(mail_from, rcpt_to, subject, date, message_id), message_id


def build_with_email_package(mail_from, rcpt_to, subject, date, message_id) -> bytes:
    """The general path (and the reference the direct path is checked against)."""
    msg = EmailMessage()
    msg["From"] = mail_from
    msg["To"] = rcpt_to
    msg["Subject"] = subject
    msg["Date"] = date
    msg["Message-ID"] = message_id
    msg.set_content(BODY)
    return msg.as_bytes(policy=msg.policy.clone(linesep="\r\n"))


def _direct(mail_from, rcpt_to, subject, date, message_id) -> bytes | None:
    """The bytes written directly, or None when the input needs the email package's care."""
    if not (_PLAIN_ADDRESS.fullmatch(mail_from) and _PLAIN_ADDRESS.fullmatch(rcpt_to)):
        return None
    # "=?" would be decoded as an encoded word; an empty subject is written without a space.
    if not _PLAIN_TEXT.fullmatch(subject) or "=?" in subject:
        return None
    if not _DATE.fullmatch(date) or not _MSGID.fullmatch(message_id):
        return None
    lines = [f"From: {mail_from}", f"To: {rcpt_to}", f"Subject: {subject}", f"Date: {date}"]
    if any(len(line) > MAX_LINE for line in lines):
        return None  # folding rules for these: leave them to the email package
    msgid_line = f"Message-ID: {message_id}"
    if len(msgid_line) > MAX_LINE:
        if len(message_id) + 1 > MAX_LINE:
            return None
        msgid_line = f"Message-ID:\r\n {message_id}"  # one token: it moves to its own line
    lines.append(msgid_line)
    return ("\r\n".join(lines) + "\r\n").encode("ascii") + _TRAILER
