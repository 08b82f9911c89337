"""ChangeKey conflicts of UpdateItem, as Exchange resolves them.

Every update records which properties it changed under the ChangeKey it produced (kept in the
item's XML in a private namespace that reads never return). An update that names an older
ChangeKey is then judged like Exchange does: NeverOverwrite fails on any newer change,
AutoResolve fails only when a property it sets was changed since the caller's version
(ErrorIrresolvableConflict), AlwaysOverwrite always applies.
"""

from __future__ import annotations

from lxml import etree

from .shapes import ext_key
from .soap import EWSError, local, t

HISTORY_NS = "urn:sandbox:change-history"
_HISTORY = f"{{{HISTORY_NS}}}History"
_KEEP = 50


def changed_paths(change: etree._Element) -> set[str]:
    paths = set()
    for update in change.find(t("Updates")):
        uri = update[0]
        if local(uri) == "ExtendedFieldURI":
            paths.add("ext:" + "|".join(ext_key(uri)))
        else:
            paths.add(f"{uri.get('FieldURI', '')}:{uri.get('FieldIndex', '')}")
    return paths


def _history(elem: etree._Element) -> list[tuple[str, set[str]]]:
    holder = elem.find(_HISTORY)
    if holder is None:
        return []
    return [(e.get("ck", ""), set((e.text or "").split())) for e in holder]


def check(elem, current: str, given: str | None, mode: str, paths: set[str]) -> None:
    if given in (None, "", current) or mode == "AlwaysOverwrite":
        return
    history = _history(elem)
    keys = [ck for ck, _ in history]
    newer = history[keys.index(given) + 1 :] if given in keys else history
    changed = set().union(*(fields for _, fields in newer)) if newer else set()
    if mode == "NeverOverwrite" or changed & paths:
        raise EWSError("ErrorIrresolvableConflict")


def record(elem: etree._Element, change_key: str, paths: set[str]) -> None:
    holder = elem.find(_HISTORY)
    if holder is None:
        holder = etree.SubElement(elem, _HISTORY, nsmap={"h": HISTORY_NS})
    entry = etree.SubElement(holder, f"{{{HISTORY_NS}}}Change", ck=change_key)
    entry.text = " ".join(sorted(paths))
    for old in list(holder)[:-_KEEP]:
        holder.remove(old)


def strip(elem: etree._Element) -> None:
    for holder in elem.findall(_HISTORY):
        elem.remove(holder)
