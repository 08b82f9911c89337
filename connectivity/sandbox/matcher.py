"""FindItem restrictions prepared once per request instead of once per item.

exchangelib sends ``field__in=[a, b, ...]`` as an Or of IsEqualTo on one property. Evaluated
item by item, that reads the property once per constant (for an extended property: a scan of
the item's properties each time), so a lookup of 100 keys in a calendar of 300 items took a
second. Exchange answers it from an index; the sandbox reads the property once per item and
tests the constants as a set, with the same comparison rules as :func:`items.matches`.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from lxml import etree

from .items import _COMPARE, _coerce, field_value, matches, parse_dt
from .soap import local, t

Matcher = Callable[[Any, Callable[[], etree._Element]], bool]


def _plain(value: str) -> bool:
    """Text that only ever compares as text (not a boolean, number or date-time)."""
    if value in ("true", "false") or parse_dt(value) is not None:
        return False
    try:
        float(value)
    except ValueError:
        return True
    return False


def _equal_any(expr: etree._Element) -> tuple[etree._Element, list[str]] | None:
    """(property, constants) when ``expr`` is an Or of IsEqualTo on one property."""
    if local(expr) != "Or" or len(expr) < 2:
        return None
    uri, constants = None, []
    for child in expr:
        const = child.find(f"{t('FieldURIOrConstant')}/{t('Constant')}")
        if local(child) != "IsEqualTo" or const is None or not len(child):
            return None
        if uri is None:
            uri, shape = child[0], etree.tostring(child[0])
        elif etree.tostring(child[0]) != shape:
            return None
        constants.append(const.get("Value", ""))
    return uri, constants


def matcher(expr: etree._Element) -> Matcher:
    """A predicate ``(row, load_xml) -> bool`` equivalent to ``matches(expr, ...)``."""
    found = _equal_any(expr)
    if found is None:
        return lambda row, load: matches(expr, row, load)
    uri, constants = found
    wanted = set(constants)

    def test(row, load) -> bool:
        value = field_value(row, uri, load)
        for v in value if isinstance(value, list) else [value]:
            if v is None:
                continue
            if isinstance(v, str) and v in wanted:
                return True
            if isinstance(v, str) and _plain(v):
                continue  # compares as text only, and is not among the constants
            for constant in constants:
                try:
                    if _COMPARE["IsEqualTo"](*_coerce(v, constant)):
                        return True
                except TypeError:
                    continue
        return False

    return test
