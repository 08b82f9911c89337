"""MIME content and body types: what ItemShape's IncludeMimeContent and BodyType return, and
items created from MIME (CreateItem with only t:MimeContent, as mail import tools do)."""

from __future__ import annotations

import base64
import binascii
import email.policy
import email.utils
import html
import re
from email.message import EmailMessage

from lxml import etree

from .soap import EWSError, t


def html_to_text(markup: str) -> str:
    markup = re.sub(r"(?is)<(script|style|head)\b.*?</\1>", "", markup)
    markup = re.sub(r"(?i)<br\s*/?>|</p>|</div>|</tr>|</h\d>", "\n", markup)
    text = html.unescape(re.sub(r"<[^>]+>", "", markup))
    return re.sub(r"\n{3,}", "\n\n", text).strip()


def text_to_html(text: str) -> str:
    body = html.escape(text).replace("\n", "<br>\n")
    return (
        '<html><head><meta http-equiv="Content-Type" content="text/html; charset=utf-8">'
        f"</head><body>{body}</body></html>"
    )


def convert_body(body: etree._Element, wanted: str) -> etree._Element:
    """A copy of t:Body (or t:UniqueBody) in the requested BodyType (Best keeps it)."""
    have = body.get("BodyType", "Text")
    if wanted not in ("HTML", "Text") or wanted == have:
        return body
    out = etree.Element(body.tag, BodyType=wanted)
    text = body.text or ""
    out.text = html_to_text(text) if wanted == "Text" else text_to_html(text)
    return out


def _addresses(elem: etree._Element, tag: str) -> str:
    holder = elem.find(t(tag))
    if holder is None:
        return ""
    pairs = [
        (mb.findtext(t("Name")) or "", mb.findtext(t("EmailAddress")) or "")
        for mb in holder.iter(t("Mailbox"))
    ]
    return ", ".join(email.utils.formataddr(p) for p in pairs if p[1])


def mime_content(elem: etree._Element) -> etree._Element:
    """t:MimeContent of an item, generated from its properties (RFC 5322, UTF-8)."""
    msg = EmailMessage(policy=email.policy.SMTP)
    msg["Subject"] = elem.findtext(t("Subject")) or ""
    for header, tag in (("From", "From"), ("To", "ToRecipients"), ("Cc", "CcRecipients")):
        value = _addresses(elem, tag)
        if value:
            msg[header] = value
    sent = elem.findtext(t("DateTimeSent")) or elem.findtext(t("DateTimeCreated"))
    if sent:
        from .items import parse_dt

        when = parse_dt(sent)
        if when:
            msg["Date"] = email.utils.format_datetime(when)
    msg["Message-ID"] = elem.findtext(t("InternetMessageId")) or email.utils.make_msgid(
        domain="sandbox.test"
    )
    body = elem.find(t("Body"))
    text = body.text or "" if body is not None else ""
    if body is not None and body.get("BodyType") == "HTML":
        msg.set_content(html_to_text(text))
        msg.add_alternative(text, subtype="html")
    else:
        msg.set_content(text)
    out = etree.Element(t("MimeContent"), CharacterSet="UTF-8")
    out.text = base64.b64encode(msg.as_bytes()).decode()
    return out


def fill_from_mime(elem: etree._Element) -> None:
    """An item created from MIME gets its subject, body and addresses from the MIME."""
    holder = elem.find(t("MimeContent"))
    if holder is None or not (holder.text or "").strip():
        return
    try:
        raw = base64.b64decode(holder.text, validate=True)
    except (binascii.Error, ValueError):
        raise EWSError("ErrorMimeContentConversionFailed", "The MIME content is not base64.")
    msg = email.message_from_bytes(raw, policy=email.policy.default)
    elem.remove(holder)
    if elem.find(t("Subject")) is None:
        etree.SubElement(elem, t("Subject")).text = str(msg.get("Subject", ""))
    if elem.find(t("Body")) is None:
        part = msg.get_body(preferencelist=("html", "plain"))
        if part is not None:
            kind = "HTML" if part.get_content_type() == "text/html" else "Text"
            etree.SubElement(elem, t("Body"), BodyType=kind).text = part.get_content()
    for header, tag in (("From", "From"), ("To", "ToRecipients"), ("Cc", "CcRecipients")):
        pairs = email.utils.getaddresses([str(v) for v in msg.get_all(header, [])])
        if pairs and elem.find(t(tag)) is None:
            holder = etree.SubElement(elem, t(tag))
            for name, address in pairs:
                mb = etree.SubElement(holder, t("Mailbox"))
                etree.SubElement(mb, t("Name")).text = name or address
                etree.SubElement(mb, t("EmailAddress")).text = address
                etree.SubElement(mb, t("RoutingType")).text = "SMTP"
    sender = elem.find(t("From"))
    if sender is not None and elem.find(t("Sender")) is None:
        copied = etree.SubElement(elem, t("Sender"))
        copied.extend(etree.fromstring(etree.tostring(sender)))
    if msg.get("Message-ID") and elem.find(t("InternetMessageId")) is None:
        etree.SubElement(elem, t("InternetMessageId")).text = str(msg["Message-ID"]).strip()
