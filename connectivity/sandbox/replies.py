"""Response objects of CreateItem: ReplyToItem, ReplyAllToItem and ForwardItem become the
message Exchange would send — subject prefixed, the new text above the original, recipients
taken from the original (replies) and attachments carried along (forwards)."""

from __future__ import annotations

import copy

from lxml import etree

from .soap import TNS, EWSError, local, t

RESPONSE_OBJECTS = ("ReplyToItem", "ReplyAllToItem", "ForwardItem")
_PREFIX = {"ReplyToItem": "RE: ", "ReplyAllToItem": "RE: ", "ForwardItem": "FW: "}


def _addresses(elem: etree._Element, tag: str) -> list[etree._Element]:
    holder = elem.find(t(tag))
    return [] if holder is None else [copy.deepcopy(mb) for mb in holder.findall(t("Mailbox"))]


def _address(mailbox: etree._Element) -> str:
    return (mailbox.findtext(t("EmailAddress")) or "").strip().lower()


def build(kind: str, request: etree._Element, original: etree._Element, me: str):
    """The Message element for a response object `request` to `original`."""
    if local(original) not in ("Message", "CalendarItem", "PostItem", "Item"):
        raise EWSError("ErrorInvalidReferenceItem", "This item cannot be replied to or forwarded.")
    msg = etree.Element(t("Message"), nsmap={"t": TNS})
    subject = request.findtext(t("Subject"))
    if subject is None:
        base = original.findtext(t("Subject")) or ""
        prefix = _PREFIX[kind]
        subject = base if base.upper().startswith(prefix.strip().upper()) else prefix + base
    etree.SubElement(msg, t("Subject")).text = subject
    new = request.find(t("NewBodyContent"))
    if new is None:
        new = request.find(t("Body"))
    old = original.find(t("Body"))
    body_type = (new if new is not None else old).get("BodyType", "Text") if (
        new is not None or old is not None) else "Text"  # fmt: skip
    text = new.text if new is not None and new.text else ""
    if old is not None and old.text:
        text = f"{text}\n\n{old.text}" if text else old.text
    etree.SubElement(msg, t("Body"), BodyType=body_type).text = text
    if kind == "ForwardItem" and original.find(t("Attachments")) is not None:
        msg.append(copy.deepcopy(original.find(t("Attachments"))))
    for tag in ("ToRecipients", "CcRecipients", "BccRecipients"):
        given = _addresses(request, tag)
        if not given and kind != "ForwardItem" and tag != "BccRecipients":
            given = _reply_recipients(kind, tag, original, me)
        if given:
            holder = etree.SubElement(msg, t(tag))
            holder.extend(given)
    return msg


def _reply_recipients(kind, tag, original, me) -> list[etree._Element]:
    sender = _addresses(original, "From") or _addresses(original, "Sender")
    if tag == "ToRecipients":
        found = sender + (_addresses(original, "ToRecipients") if kind == "ReplyAllToItem" else [])
    else:
        found = _addresses(original, "CcRecipients") if kind == "ReplyAllToItem" else []
    out, seen = [], {me}
    for mb in found:
        if _address(mb) not in seen:
            seen.add(_address(mb))
            out.append(mb)
    return out
