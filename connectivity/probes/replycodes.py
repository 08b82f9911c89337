"""Plain-words explanations of SMTP replies an Exchange administrator is likely to meet.

Kept as data in one table, each entry with its source.  ``platform-2026`` refers to the
project's reference notes (``/work/shared/reference/platform-2026.md``, section "SMTP relay from
devices and applications"), which summarise Microsoft Learn "Authenticated client SMTP submission
(SMTP AUTH) in Exchange Online", the Exchange team blog (2026-01-27) and RFC 3463 / RFC 5321.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from connectivity.i18n import N_

SOURCE_EXO = N_("platform-2026: Microsoft Learn, SMTP AUTH client submission in Exchange Online")
SOURCE_BLOG = N_("platform-2026: Exchange team blog, SMTP AUTH Basic auth plan (2026-01-27)")
SOURCE_RFC = N_("RFC 5321 (reply codes), RFC 3463 (enhanced status codes)")


@dataclass(frozen=True)
class ReplyExplanation:
    enhanced: str | None  # enhanced status code to match (e.g. "5.7.139"); None = any
    code: int | None  # basic reply code to match; None = any
    meaning: str
    hint: str
    source: str


# Most specific first: the first entry whose ``enhanced`` and ``code`` both match wins.
REPLY_TABLE: tuple[ReplyExplanation, ...] = (
    ReplyExplanation(
        "5.7.139",
        None,
        N_(
            "Exchange Online refused the login: SMTP AUTH is disabled for the tenant or for "
            "this mailbox, Security defaults / Conditional Access block it, or the credentials "
            "are wrong."
        ),
        N_(
            "Check the password; then enable SMTP AUTH for the mailbox "
            "(Set-CASMailbox <user> -SmtpClientAuthenticationDisabled $false) and the "
            "organisation (Set-TransportConfig -SmtpClientAuthenticationDisabled $false); "
            "Security defaults must be off for SMTP AUTH. Prefer OAuth (XOAUTH2) over a "
            "password."
        ),
        SOURCE_EXO,
    ),
    ReplyExplanation(
        "5.7.30",
        None,
        N_("Basic authentication (user name + password) is not accepted for client submission."),
        N_(
            "Switch the device or application to OAuth (SASL XOAUTH2 with SMTP.Send or "
            "SMTP.SendAsApp), or use High Volume Email / a connector; Basic auth for SMTP AUTH is "
            "disabled by default for existing tenants from end of December 2026."
        ),
        SOURCE_BLOG,
    ),
    ReplyExplanation(
        "5.7.57",
        None,
        N_(
            "The client is not authenticated and may not send anonymous mail through this endpoint."
        ),
        N_(
            "Authenticate before MAIL FROM (smtp.office365.com:587 requires SMTP AUTH), or send to "
            "internal recipients via direct send on port 25 / a connector matched by IP or "
            "certificate."
        ),
        SOURCE_EXO,
    ),
    ReplyExplanation(
        "5.7.60",
        None,
        N_(
            "SendAsDenied: the authenticated mailbox is not allowed to send as the MAIL FROM "
            "address."
        ),
        N_(
            "Use the authenticated mailbox's own address as the sender, or grant it Send As on the "
            "sender (Add-RecipientPermission <sender> -AccessRights SendAs -Trustee <user>)."
        ),
        SOURCE_EXO,
    ),
    ReplyExplanation(
        "4.7.0",
        421,
        N_(
            "The server is throttling or temporarily refusing this client (too many connections or "
            "messages; Exchange Online allows 30 messages a minute per mailbox)."
        ),
        N_("Wait and retry later with fewer concurrent connections; this is temporary."),
        SOURCE_EXO,
    ),
    ReplyExplanation(
        None,
        421,
        N_("The server is closing the connection: service not available, often throttling."),
        N_("Retry later with fewer concurrent connections; check server health."),
        SOURCE_RFC,
    ),
    ReplyExplanation(
        "4.7.0",
        None,
        N_("Temporary refusal for security or throttling reasons."),
        N_("Retry later; if it persists, check connection limits and the sender's reputation."),
        SOURCE_EXO,
    ),
    ReplyExplanation(
        "5.7.3",
        None,
        N_(
            "Authentication unsuccessful (Exchange Server wording): wrong credentials or the "
            "account may not use SMTP AUTH."
        ),
        N_(
            "Check the user name (full address or UPN) and password, and that the receive "
            "connector offers authentication to this client."
        ),
        SOURCE_RFC,
    ),
    ReplyExplanation(
        None,
        535,
        N_("Authentication failed: the server rejected the user name or password."),
        N_("Check the user name (usually the full e-mail address) and the password or token."),
        SOURCE_RFC,
    ),
    ReplyExplanation(
        None,
        530,
        N_("Authentication (or STARTTLS) is required before this command."),
        N_("Use STARTTLS and authenticate before sending."),
        SOURCE_RFC,
    ),
    ReplyExplanation(
        "5.7.1",
        None,
        N_("Not permitted: typically relaying to an external recipient is denied for this client."),
        N_("Authenticate, or configure a receive connector / inbound connector for this sender."),
        SOURCE_RFC,
    ),
    ReplyExplanation(
        "5.1.1",
        None,
        N_("The recipient address does not exist."),
        N_("Check the recipient address."),
        SOURCE_RFC,
    ),
    ReplyExplanation(
        None,
        552,
        N_("The message exceeds the server's size limit."),
        N_("Send a smaller message or raise the connector's size limit."),
        SOURCE_RFC,
    ),
)

_ENHANCED = re.compile(r"\b([245]\.\d{1,3}\.\d{1,3})\b")


def enhanced_status(text: str) -> str | None:
    match = _ENHANCED.search(text or "")
    return match.group(1) if match else None


def explain(code: int | None, text: str | bytes = "") -> ReplyExplanation | None:
    """The table entry for an SMTP reply, or None."""
    if isinstance(text, bytes):
        text = text.decode("utf-8", "replace")
    status = enhanced_status(text)
    for entry in REPLY_TABLE:
        if entry.enhanced is not None and entry.enhanced != status:
            continue
        if entry.code is not None and entry.code != code:
            continue
        return entry
    return None


def describe(code: int | None, text: str | bytes = "") -> tuple[str, str]:
    """(detail, hint) for a failed reply: the reply itself plus its explanation."""
    if isinstance(text, bytes):
        text = text.decode("utf-8", "replace")
    reply = f"{code} {' '.join(text.split())}".strip()
    entry = explain(code, text)
    if entry is None:
        return reply, N_("See the server's reply text; check the server logs for this session.")
    return (
        N_("%(reply)s — %(meaning)s", reply=reply, meaning=entry.meaning),
        N_("%(hint)s [source: %(source)s]", hint=entry.hint, source=entry.source),
    )
