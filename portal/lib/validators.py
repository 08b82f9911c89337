"""Input checks shared by every form: host names, single-line text, plain numbers.

One place, so the tenant form, "Test a host" and any later form refuse the same things with the
same words.
"""

import ipaddress
import re
import unicodedata

from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _

from connectivity.probes.core import looks_numeric

_LABEL = re.compile(r"^(?!-)[a-z0-9_-]{1,63}(?<!-)$")
# Categories that can end a line or hide text: controls, format characters, line/paragraph
# separators, surrogates and private-use code points.
_REFUSED_CATEGORIES = {"Cc", "Cf", "Zl", "Zp", "Cs", "Co"}
# Zero-width (non-)joiners are ordinary parts of names written in some scripts and emoji.
_ALLOWED_FORMAT = {"\u200c", "\u200d"}


def ascii_int(value) -> int | None:
    """``value`` as a non-negative int if it is plain ASCII digits, else None.

    ``str.isdigit()`` also accepts "²" or "١", which ``int()`` then refuses or reads differently.
    """
    text = str(value or "")
    if text.isascii() and text.isdigit():
        return int(text)
    return None


def has_control_characters(value: str) -> bool:
    return any(
        unicodedata.category(c) in _REFUSED_CATEGORIES and c not in _ALLOWED_FORMAT for c in value
    )


def validate_single_line(value) -> None:
    """Refuse CR, LF, NUL and every other control or invisible format character.

    For any text that may reach an HTTP header, an SMTP command, a PowerShell argument or a log
    line.
    """
    if value and has_control_characters(str(value)):
        raise ValidationError(
            _("Use plain text on one line: line breaks and control characters are not allowed."),
            code="control_characters",
        )


def normalize_host(value: str) -> str:
    """A host name or IP literal, lower-cased and in the form probes can connect to.

    IPv6 literals are accepted with or without brackets and returned bare and compressed
    ("[::1]" → "::1"), which is what resolution and sockets expect.  Raises ValidationError.
    """
    host = (value or "").strip().lower()
    if not host:
        return ""
    validate_single_line(host)
    literal = host[1:-1] if host.startswith("[") and host.endswith("]") else host
    if ":" in literal:
        try:
            return str(ipaddress.IPv6Address(literal))
        except ValueError:
            raise ValidationError(
                _("“%(value)s” is not a valid IPv6 address."),
                params={"value": value},
                code="invalid_host",
            )
    name = host.removesuffix(".")
    labels = name.split(".")
    if all(label.isascii() and label.isdigit() for label in labels):
        # Digits only: it must be a dotted IPv4 address, not "1e309" or a 26-digit number.
        try:
            return str(ipaddress.IPv4Address(name))
        except ValueError:
            raise ValidationError(
                _("“%(value)s” is neither a host name nor a valid IPv4 address."),
                params={"value": value},
                code="invalid_host",
            )
    if len(name) > 253 or not all(_LABEL.match(label) for label in labels):
        raise ValidationError(
            _(
                "“%(value)s” is not a valid host name: characters other than letters, digits, "
                "hyphens and dots are not allowed."
            ),
            params={"value": value},
            code="invalid_host",
        )
    if looks_numeric(labels[-1]):
        # "1e309", "0x7f" or digits: resolvers read such names as numbers, never as names.
        raise ValidationError(
            _("“%(value)s” is neither a host name nor a valid IPv4 address."),
            params={"value": value},
            code="invalid_host",
        )
    return name
