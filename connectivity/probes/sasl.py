"""SASL XOAUTH2, as Exchange Online's SMTP, IMAP4 and POP3 speak it."""

from __future__ import annotations

import base64
import json

from connectivity.i18n import N_


def xoauth2_string(user: str, token: str) -> str:
    return f"user={user}\x01auth=Bearer {token}\x01\x01"


def secret_forms(username: str | None, password: str | None, token: str | None) -> list[str]:
    """Every form in which a credential can cross the wire, for scrubbing step details:
    the raw values and their SASL PLAIN / XOAUTH2 encodings."""
    forms = [x for x in (password, token) if x]
    if username and password:
        forms.append(base64.b64encode(f"\0{username}\0{password}".encode()).decode())
    if username and token:
        forms.append(base64.b64encode(xoauth2_string(username, token).encode()).decode())
    return forms


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
        return N_("the server refused the token")
    shown = [f"{k} {fields[k]}" for k in ("status", "schemes", "scope") if fields.get(k)]
    return ", ".join(shown) or N_("the server refused the token")
