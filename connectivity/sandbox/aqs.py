"""FindItem's QueryString: the part of Advanced Query Syntax (AQS) that mail searches use.

Supported: bare words and "quoted phrases" (searched in subject, body, sender and recipients),
``property:value`` for subject, body, from, to, cc, participants, category and attachment,
implicit AND, ``AND``, ``OR`` and ``NOT``. Matching is case-insensitive on word prefixes, like
Exchange's content index (``budget`` finds "Budgets 2026", not "xbudget").
"""

from __future__ import annotations

import re
import shlex

from lxml import etree

from .soap import EWSError, t

_PROPERTIES = {
    "subject": ("Subject",),
    "body": ("Body",),
    "from": ("From",),
    "to": ("ToRecipients",),
    "cc": ("CcRecipients",),
    "participants": ("From", "ToRecipients", "CcRecipients", "BccRecipients"),
    "category": ("Categories",),
    "attachment": ("Attachments",),
}
_ANYWHERE = ("Subject", "Body", "From", "ToRecipients", "CcRecipients")


def _text(elem: etree._Element, tags: tuple[str, ...]) -> str:
    parts = []
    for tag in tags:
        for found in elem.findall(t(tag)):
            parts.append(" ".join(found.itertext()))
    return " ".join(parts).lower()


def _matches(value: str, haystack: str) -> bool:
    return re.search(r"(?<![\w])" + re.escape(value.lower()), haystack) is not None


def parse(query: str) -> list[list[tuple[bool, tuple[str, ...], str]]]:
    """Disjunction of conjunctions of (negated, element tags, value)."""
    try:
        tokens = shlex.split(query)
    except ValueError:
        raise EWSError("ErrorInvalidArgument", "The QueryString is not valid.") from None
    groups: list[list[tuple[bool, tuple[str, ...], str]]] = [[]]
    negate = False
    for word in tokens:
        if word == "OR":
            groups.append([])
            continue
        if word == "AND":
            continue
        if word == "NOT":
            negate = True
            continue
        prop, sep, value = word.partition(":")
        if sep and prop.lower() in _PROPERTIES:
            tags, value = _PROPERTIES[prop.lower()], value.strip('"')
        else:
            tags, value = _ANYWHERE, word
        if value:
            groups[-1].append((negate, tags, value))
        negate = False
    return [g for g in groups if g]


def matches(query: list, elem: etree._Element) -> bool:
    if not query:
        return True
    return any(
        all(_matches(value, _text(elem, tags)) != negated for negated, tags, value in group)
        for group in query
    )
