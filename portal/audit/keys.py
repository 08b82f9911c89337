"""The audit keys: HMAC-SHA256 keys that never live in the database.

``AUDIT_KEYS`` comes from AUDIT_KEY / AUDIT_KEY_FILE (or VAR_DIR/audit_key), newest first: the
newest seals new events and checkpoints, every key still verifies what it sealed. Each sealed
record stores the id of its key; the id is itself an HMAC of a fixed label, so it names the key
without revealing anything about it. Rotation: put a new key in front, keep the old ones.
"""

import hashlib
import hmac
from dataclasses import dataclass
from functools import cache

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured

MIN_KEY_LENGTH = 32


@dataclass(frozen=True)
class AuditKey:
    id: str
    secret: bytes

    def mac(self, data: bytes) -> str:
        return hmac.new(self.secret, data, hashlib.sha256).hexdigest()


def key_id(secret: str) -> str:
    return hmac.new(secret.encode(), b"portal audit key id", hashlib.sha256).hexdigest()[:16]


@cache
def _ring(secrets: tuple[str, ...]) -> tuple[AuditKey, ...]:
    short = [i + 1 for i, s in enumerate(secrets) if len(s) < MIN_KEY_LENGTH]
    if short:
        raise ImproperlyConfigured(
            f"AUDIT_KEY: every key must be at least {MIN_KEY_LENGTH} characters long "
            f"(key number {short[0]} is shorter). Generate one with "
            '`python -c "import secrets; print(secrets.token_urlsafe(32))"`.'
        )
    return tuple(AuditKey(key_id(s), s.encode()) for s in secrets)


def ring() -> tuple[AuditKey, ...]:
    keys = _ring(tuple(getattr(settings, "AUDIT_KEYS", ()) or ()))
    if not keys:
        raise ImproperlyConfigured("AUDIT_KEY is not set: audit events cannot be sealed.")
    return keys


def current() -> AuditKey:
    """The key that seals what is written now."""
    return ring()[0]


def find(kid: str) -> AuditKey | None:
    """The key with this id, or None when it is no longer (or never was) configured."""
    return next((k for k in ring() if k.id == kid), None)
