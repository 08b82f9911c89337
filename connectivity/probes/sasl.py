"""SASL XOAUTH2, as Exchange Online's SMTP, IMAP4 and POP3 speak it."""

from __future__ import annotations

import json


def xoauth2_string(user: str, token: str) -> str:
    return f"user={user}\x01auth=Bearer {token}\x01\x01"


def xoauth2_refusal(challenge: bytes) -> str:
    """What a server's XOAUTH2 error challenge says, e.g. ``status 401, schemes bearer``.

    On a refused token the server sends a challenge holding a JSON object (RFC 7628 3.2.2)
    instead of a tagged result; the client answers with an empty line to end the exchange.
    """
    try:
        fields = json.loads(challenge.decode("utf-8", "replace"))
    except ValueError:
        fields = None
    if not isinstance(fields, dict):
        return "the server refused the token"
    shown = [f"{k} {fields[k]}" for k in ("status", "schemes", "scope") if fields.get(k)]
    return ", ".join(shown) or "the server refused the token"
