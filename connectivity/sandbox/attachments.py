"""Attachments inside stored items: ids, sizes and the trimmed view item reads return.

An attachment is kept in its item's XML (``t:Attachments``) with its content. Its id embeds
the item's id, so GetAttachment/DeleteAttachment find the item from the attachment id alone;
the ids are reissued whenever the item gets a new id (copy, move, delivery).
"""

from __future__ import annotations

import base64
import binascii
import copy
import datetime as dt
import mimetypes
import os

from lxml import etree

from .soap import EWSError, local, t

KINDS = ("FileAttachment", "ItemAttachment", "ReferenceAttachment")
_MARK = b"\x05"


def attachment_id(item_id: str) -> str:
    return base64.b64encode(base64.b64decode(item_id) + _MARK + os.urandom(4)).decode()


def item_id_of(att_id: str) -> str:
    """The id of the item holding an attachment, or ErrorInvalidIdMalformed."""
    try:
        raw = base64.b64decode(att_id, validate=True)
    except (binascii.Error, ValueError):
        raise EWSError("ErrorInvalidIdMalformed") from None
    if len(raw) < 13 or raw[-5:-4] != _MARK:
        raise EWSError("ErrorInvalidIdMalformed")
    return base64.b64encode(raw[:-5]).decode()


def _size(att: etree._Element) -> int:
    content = att.findtext(t("Content"))
    if content:
        try:
            return len(base64.b64decode(content))
        except (binascii.Error, ValueError):
            raise EWSError("ErrorInvalidRequest", "Attachment content is not base64.") from None
    return len(etree.tostring(att))


def prepare(att: etree._Element, item_id: str, now: str) -> etree._Element:
    """Server-set properties of a new attachment; returns it."""
    if local(att) not in KINDS:
        raise EWSError("ErrorInvalidRequest", f"{local(att)} is not an attachment type.")
    for old in att.findall(t("AttachmentId")):
        att.remove(old)
    att.insert(0, etree.Element(t("AttachmentId"), Id=attachment_id(item_id)))
    name = att.findtext(t("Name")) or "Untitled"
    defaults = [("Name", name), ("Size", str(_size(att))), ("LastModifiedTime", now)]
    if local(att) == "FileAttachment":
        guessed = mimetypes.guess_type(name)[0] or "application/octet-stream"
        defaults += [("ContentType", guessed), ("IsInline", "false"), ("IsContactPhoto", "false")]
    else:
        defaults += [("IsInline", "false")]
    for tag, value in defaults:
        if att.find(t(tag)) is None:
            etree.SubElement(att, t(tag)).text = value
    return att


def reissue(elem: etree._Element, item_id: str) -> None:
    """Give every attachment of an item an id under `item_id`; keep HasAttachments right."""
    holder = elem.find(t("Attachments"))
    if holder is None:
        return
    now = dt.datetime.now(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    for att in holder:
        if isinstance(att.tag, str):
            prepare(att, item_id, now)
    set_has_attachments(elem)


def set_has_attachments(elem: etree._Element) -> None:
    holder = elem.find(t("Attachments"))
    has = holder is not None and any(isinstance(a.tag, str) for a in holder)
    if holder is not None and not has:
        elem.remove(holder)
    flag = elem.find(t("HasAttachments"))
    if flag is None:
        flag = etree.SubElement(elem, t("HasAttachments"))
    flag.text = "true" if has else "false"


def find(elem: etree._Element, att_id: str) -> etree._Element | None:
    holder = elem.find(t("Attachments"))
    for att in holder if holder is not None else ():
        ref = att.find(t("AttachmentId")) if isinstance(att.tag, str) else None
        if ref is not None and ref.get("Id") == att_id:
            return att
    return None


def summary(holder: etree._Element) -> etree._Element:
    """``t:Attachments`` as item reads return it: ids and metadata, no content."""
    out = etree.Element(holder.tag)
    for att in holder:
        if not isinstance(att.tag, str):
            continue
        slim = etree.SubElement(out, att.tag)
        for el in att:
            if isinstance(el.tag, str) and local(el) not in (
                "Content",
                "Item",
                "Message",
                "CalendarItem",
                "Contact",
                "Task",
            ):
                slim.append(copy.deepcopy(el))
    return out
