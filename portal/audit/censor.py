"""Replace secrets in audit before/after snapshots with a censor token."""

import re

CENSOR = "********"
_SECRET_KEY = re.compile(r"(pass(word|wd)?|secret|token|api[_-]?key|private|credential)", re.I)


def is_secret_key(key: str) -> bool:
    return bool(_SECRET_KEY.search(key))


def censor(value, secret_keys: frozenset[str] = frozenset()):
    """Return a copy of ``value`` with every secret-looking key's value censored."""
    if isinstance(value, dict):
        out = {}
        for key, item in value.items():
            if key in secret_keys or is_secret_key(str(key)):
                out[key] = CENSOR if item not in (None, "") else item
            else:
                out[key] = censor(item, secret_keys)
        return out
    if isinstance(value, list | tuple):
        return [censor(item, secret_keys) for item in value]
    return value
