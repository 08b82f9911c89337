"""Item model of the sandbox: turning EWS item elements into stored rows and back, FindItem
restrictions/sorting/paging, and mail delivery between sandbox mailboxes."""

from __future__ import annotations

import copy
import datetime as dt
import json
import re
from collections.abc import Callable, Iterable
from typing import Any

from lxml import etree

from . import attachments, conflicts
from .shapes import apply_shape, ext_key, field_tag  # noqa: F401 - re-exported to ews/
from .soap import TNS, EWSError, local, sub, t
from .store import Store, new_change_key, new_id

ITEM_CLASSES = {
    "Message": "IPM.Note",
    "CalendarItem": "IPM.Appointment",
    "Task": "IPM.Task",
    "Contact": "IPM.Contact",
    "DistributionList": "IPM.DistList",
    "PostItem": "IPM.Post",
    "MeetingRequest": "IPM.Schedule.Meeting.Request",
    "MeetingResponse": "IPM.Schedule.Meeting.Resp.Pos",
    "MeetingCancellation": "IPM.Schedule.Meeting.Canceled",
    "Item": "IPM.Note",
}


# --- dates -----------------------------------------------------------------------------------
def utcnow() -> dt.datetime:
    return dt.datetime.now(dt.UTC).replace(microsecond=0)


def fmt(value: dt.datetime) -> str:
    return value.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def parse_dt(text: str | None) -> dt.datetime | None:
    """Parse an xs:dateTime as EWS sends it; values without offset are taken as UTC."""
    if not text:
        return None
    text = text.strip()
    if text.endswith("Z"):
        text = text[:-1] + "+00:00"
    text = re.sub(r"(\.\d{6})\d+", r"\1", text)
    try:
        value = dt.datetime.fromisoformat(text)
    except ValueError:
        return None
    if value.tzinfo is None:
        value = value.replace(tzinfo=dt.UTC)
    return value.astimezone(dt.UTC)


def norm_dt(text: str | None) -> str | None:
    value = parse_dt(text)
    return fmt(value) if value else None


# --- element helpers -------------------------------------------------------------------------
def child(elem: etree._Element, tag: str) -> etree._Element | None:
    return elem.find(t(tag))


def text_of(elem: etree._Element, path: str) -> str | None:
    found = elem.find("/".join(t(p) for p in path.split("/")))
    return found.text if found is not None else None


def set_child(
    elem: etree._Element, tag: str, text: str | None = None, index: int | None = None, **attrs: str
) -> etree._Element:
    old = child(elem, tag)
    new = etree.Element(t(tag), {k: v for k, v in attrs.items() if v is not None})
    new.text = text
    if old is not None:
        old.getparent().replace(old, new)
    elif index is not None:
        elem.insert(index, new)
    else:
        elem.append(new)
    return new


def mailbox_elem(parent: etree._Element, tag: str, address: str, name: str | None = None):
    holder = sub(parent, t(tag)) if tag else parent
    mbx = sub(holder, t("Mailbox"))
    sub(mbx, t("Name"), name or address)
    sub(mbx, t("EmailAddress"), address)
    sub(mbx, t("RoutingType"), "SMTP")
    sub(mbx, t("MailboxType"), "Mailbox")
    return holder


def recipients(elem: etree._Element, tags=("ToRecipients", "CcRecipients", "BccRecipients")):
    out: list[str] = []
    for tag in tags:
        holder = child(elem, tag)
        if holder is None:
            continue
        for addr in holder.iter(t("EmailAddress")):
            if addr.text and addr.text.lower() not in out:
                out.append(addr.text.strip().lower())
    return out


def columns(elem: etree._Element) -> dict[str, Any]:
    """Indexed columns of an item element."""
    kind = local(elem)
    sender = text_of(elem, "From/Mailbox/EmailAddress") or text_of(
        elem, "Sender/Mailbox/EmailAddress"
    )
    cats = child(elem, "Categories")
    start = text_of(elem, "Start") if kind == "CalendarItem" else text_of(elem, "StartDate")
    end = text_of(elem, "End") if kind == "CalendarItem" else text_of(elem, "DueDate")
    is_read = text_of(elem, "IsRead")
    return {
        "element": kind,
        "item_class": text_of(elem, "ItemClass"),
        "subject": text_of(elem, "Subject"),
        "body": text_of(elem, "Body"),
        "sender": sender.lower() if sender else None,
        "received": norm_dt(text_of(elem, "DateTimeReceived")),
        "categories": json.dumps([c.text for c in cats if c.text]) if cats is not None else "[]",
        "start": norm_dt(start),
        "end": norm_dt(end),
        "is_read": None if is_read is None else int(is_read == "true"),
    }


def stamp(elem: etree._Element, item_id: str, change_key: str, folder: Any) -> None:
    """Write the server-owned ItemId / ParentFolderId at the head of the element."""
    set_child(elem, "ItemId", index=0, Id=item_id, ChangeKey=change_key)
    set_child(elem, "ParentFolderId", index=1, Id=folder["id"], ChangeKey=folder["change_key"])


def new_row(elem: etree._Element, mailbox: str, folder: Any) -> dict[str, Any]:
    item_id, change_key = new_id(b"\x01"), new_change_key()
    stamp(elem, item_id, change_key, folder)
    attachments.reissue(elem, item_id)
    return {
        "id": item_id,
        "change_key": change_key,
        "mailbox": mailbox.lower(),
        "folder_id": folder["id"],
        "xml": etree.tostring(elem),
        **columns(elem),
    }


def prepare_new(elem: etree._Element, *, now: dt.datetime, is_read: bool = True) -> None:
    """Fill server-set properties of a freshly created item."""
    kind = local(elem)
    if child(elem, "ItemClass") is None:
        set_child(elem, "ItemClass", ITEM_CLASSES.get(kind, "IPM.Note"))
    for tag in ("DateTimeReceived", "DateTimeCreated", "LastModifiedTime"):
        set_child(elem, tag, fmt(now))
    size = len(etree.tostring(elem))
    set_child(elem, "Size", str(size))
    if kind == "Message" and child(elem, "IsRead") is None:
        set_child(elem, "IsRead", "true" if is_read else "false")
    if child(elem, "HasAttachments") is None:
        set_child(elem, "HasAttachments", "false")
    if kind == "Task":
        for tag, value in (("Status", "NotStarted"), ("PercentComplete", "0"),
                           ("IsComplete", "false")):  # fmt: skip
            if child(elem, tag) is None:
                set_child(elem, tag, value)
    if kind == "CalendarItem":
        if child(elem, "UID") is None:
            set_child(elem, "UID", new_id(b"\x04").rstrip("="))
        if child(elem, "LegacyFreeBusyStatus") is None:
            set_child(elem, "LegacyFreeBusyStatus", "Busy")


def delivered_copy(
    elem: etree._Element, sender: str, sender_name: str | None, now: dt.datetime
) -> etree._Element:
    """The copy of a sent message that lands in a recipient's Inbox."""
    msg = copy.deepcopy(elem)
    conflicts.strip(msg)
    for tag in ("ItemId", "ParentFolderId", "IsRead", "IsDraft", "ExtendedProperty"):
        for old in msg.findall(t(tag)):
            msg.remove(old)
    for tag in ("From", "Sender"):
        old = child(msg, tag)
        if old is not None:
            msg.remove(old)
        mailbox_elem(msg, tag, sender, sender_name)
    set_child(msg, "DateTimeSent", fmt(now))
    set_child(msg, "IsDraft", "false")
    prepare_new(msg, now=now, is_read=False)
    set_child(msg, "IsRead", "false")
    return msg


# --- property paths ----------------------------------------------------------------------------
def field_value(row: Any, uri: etree._Element, load_xml: Callable[[], etree._Element]) -> Any:
    """Value of the property named by a FieldURI/ExtendedFieldURI for restrictions/sorting."""
    name = local(uri)
    if name == "ExtendedFieldURI":
        key = ext_key(uri)
        for prop in load_xml().findall(t("ExtendedProperty")):
            u = prop.find(t("ExtendedFieldURI"))
            if u is not None and ext_key(u) == key:
                return text_of(prop, "Value")
        return None
    path = uri.get("FieldURI", "")
    simple = {
        "item:Subject": "subject",
        "item:Body": "body",
        "message:From": "sender",
        "message:Sender": "sender",
        "item:DateTimeReceived": "received",
        "calendar:Start": "start",
        "calendar:End": "end",
        "item:ItemClass": "item_class",
    }
    if path in simple:
        return row[simple[path]]
    if path == "item:Categories":
        return json.loads(row["categories"] or "[]")
    if path == "message:IsRead":
        return None if row["is_read"] is None else bool(row["is_read"])
    found = child(load_xml(), field_tag(path))
    if found is None:
        return None
    value = "".join(found.itertext()) if len(found) else found.text
    return value


# --- restrictions --------------------------------------------------------------------------------
_BOOL_TEXT = {"true": True, "1": True, "false": False, "0": False}


def _coerce(value: Any, constant: str) -> tuple[Any, Any]:
    # xs:boolean constants may be written 1/0 (exchangelib does) as well as true/false.
    if isinstance(value, bool):
        return value, _BOOL_TEXT.get(constant.strip().lower())
    if isinstance(value, str) and value in ("true", "false") and constant.strip() in _BOOL_TEXT:
        return value == "true", _BOOL_TEXT[constant.strip()]
    if isinstance(value, str):
        a, b = parse_dt(value), parse_dt(constant)
        if a is not None and b is not None and re.match(r"\d{4}-\d\d-\d\dT", constant):
            return a, b
        try:
            return float(value), float(constant)
        except ValueError:
            return value, constant
    return value, constant


_COMPARE = {
    "IsEqualTo": lambda a, b: a == b,
    "IsNotEqualTo": lambda a, b: a != b,
    "IsGreaterThan": lambda a, b: a > b,
    "IsGreaterThanOrEqualTo": lambda a, b: a >= b,
    "IsLessThan": lambda a, b: a < b,
    "IsLessThanOrEqualTo": lambda a, b: a <= b,
}


def matches(expr: etree._Element, row: Any, load_xml: Callable[[], etree._Element]) -> bool:
    op = local(expr)
    if op == "And":
        return all(matches(e, row, load_xml) for e in expr)
    if op == "Or":
        return any(matches(e, row, load_xml) for e in expr)
    if op == "Not":
        return not matches(expr[0], row, load_xml)
    uri = expr[0]
    value = field_value(row, uri, load_xml)
    values = value if isinstance(value, list) else [value]
    if op == "Exists":
        return any(v not in (None, "") for v in values)
    if op == "Contains":
        constant = expr.find(t("Constant")).get("Value", "")
        mode = expr.get("ContainmentMode", "Substring")
        ignore_case = expr.get("ContainmentComparison", "Exact") in (
            "IgnoreCase",
            "Loose",
            "IgnoreCaseAndNonSpacingCharacters",
            "LooseAndIgnoreCase",
        )
        for v in values:
            if v is None:
                continue
            hay, needle = (str(v).lower(), constant.lower()) if ignore_case else (str(v), constant)
            if (
                (mode == "FullString" and hay == needle)
                or (mode == "Prefixed" and hay.startswith(needle))
                or (mode not in ("FullString", "Prefixed") and needle in hay)
            ):
                return True
        return False
    if op in _COMPARE:
        const_el = expr.find(f"{t('FieldURIOrConstant')}/{t('Constant')}")
        if const_el is None:
            raise EWSError("ErrorInvalidRequest", "Only constant comparisons are supported.")
        constant = const_el.get("Value", "")
        present = [v for v in values if v is not None]
        if not present:
            return False  # as in MAPI: a comparison on a missing property never matches
        if op == "IsNotEqualTo":  # multi-valued: no value equals the constant
            return not any(_COMPARE["IsEqualTo"](*_coerce(v, constant)) for v in present)
        for v in present:
            a, b = _coerce(v, constant)
            try:
                if _COMPARE[op](a, b):
                    return True
            except TypeError:
                continue
        return False
    raise EWSError("ErrorInvalidRequest", f"Restriction {op} is not supported by the sandbox.")


def sort_rows(rows: list, sort_order: etree._Element | None, load: Callable[[Any], Any]) -> list:
    if sort_order is None:
        return rows
    for order in reversed(list(sort_order)):
        uri = order[0]
        reverse = order.get("Order", "Ascending") == "Descending"

        def key(row, uri=uri):
            value = field_value(row, uri, lambda row=row: load(row))
            value = ",".join(value) if isinstance(value, list) else value
            return (value is None, value if value is not None else "")

        rows = sorted(rows, key=key, reverse=reverse)
    return rows


def ids_in(container: etree._Element | None) -> Iterable[etree._Element]:
    if container is None:
        return []
    kinds = ("ItemId", "OccurrenceItemId", "RecurringMasterItemId")
    return [el for el in container if local(el) in kinds]


def seed_rows(store: Store, mailbox: str, count: int, start_index: int = 0) -> int:
    """Insert `count` synthetic messages into a mailbox Inbox (for benchmarks and paging)."""
    inbox = store.distinguished_folder(mailbox, "inbox")
    now = utcnow()
    rows = []
    for i in range(start_index, start_index + count):
        elem = etree.Element(t("Message"), nsmap={"t": TNS})
        sub(elem, t("Subject"), f"Seed message {i}")
        sub(elem, t("Body"), f"Seeded body {i}", BodyType="Text")
        received = now - dt.timedelta(minutes=i)
        sub(elem, t("ItemClass"), "IPM.Note")
        mailbox_elem(elem, "From", f"seed-sender@{mailbox.split('@')[1]}", "Seed Sender")
        mailbox_elem(elem, "ToRecipients", mailbox)
        for tag in ("DateTimeReceived", "DateTimeSent", "DateTimeCreated"):
            sub(elem, t(tag), fmt(received))
        sub(elem, t("IsRead"), "false")
        rows.append(new_row(elem, mailbox, inbox))
    store.insert_items(rows)
    return count
