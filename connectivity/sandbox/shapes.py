"""ItemShape: trimming a stored item element to what a read asked for, as Exchange does."""

from __future__ import annotations

import copy

from lxml import etree

from . import attachments, mime
from .soap import TNS, local, t
from .values import normalize


def field_tag(field_uri: str) -> str:
    """'item:Subject' -> 'Subject' (the element that carries the property)."""
    return field_uri.split(":", 1)[-1]


def ext_key(uri: etree._Element) -> tuple:
    attrs = (
        "DistinguishedPropertySetId",
        "PropertySetId",
        "PropertyTag",
        "PropertyName",
        "PropertyId",
    )
    return tuple((uri.get(a) or "").lower() for a in attrs)


INDEXED_CONTAINERS = {
    "PhoneNumber": "PhoneNumbers",
    "PhysicalAddress": "PhysicalAddresses",
    "EmailAddress": "EmailAddresses",
    "ImAddress": "ImAddresses",
}


def apply_shape(elem: etree._Element, shape: etree._Element | None) -> etree._Element:
    """Trim a stored item element to the requested ItemShape."""
    normalize(elem)  # items stored before values were normalized answer like new ones
    base = shape.findtext(t("BaseShape")) if shape is not None else "AllProperties"
    extra = shape.find(t("AdditionalProperties")) if shape is not None else None
    wanted_tags: set[str] = set()
    wanted_ext: set[tuple] = set()
    if extra is not None:
        for uri in extra:
            if local(uri) == "ExtendedFieldURI":
                wanted_ext.add(ext_key(uri))
            elif local(uri) == "FieldURI":
                wanted_tags.add(field_tag(uri.get("FieldURI", "")))
            elif local(uri) == "IndexedFieldURI":
                # contacts:PhoneNumber / contacts:PhysicalAddress:Street -> PhoneNumbers / ...
                name = uri.get("FieldURI", "").split(":")[1:2]
                wanted_tags.add(INDEXED_CONTAINERS.get(name[0], name[0]) if name else "")
    out = etree.Element(elem.tag)
    for el in elem:
        if not isinstance(el.tag, str) or etree.QName(el).namespace != TNS:
            continue  # the sandbox's own bookkeeping (change history) is never returned
        name = local(el)
        if name == "ItemId":
            keep = True
        elif name == "Attachments":
            if base in ("AllProperties", "Default") or name in wanted_tags:
                out.append(attachments.summary(el))
            continue
        elif name == "ExtendedProperty":
            uri = el.find(t("ExtendedFieldURI"))
            keep = uri is not None and ext_key(uri) in wanted_ext
        elif base in ("AllProperties", "Default"):
            keep = True
        else:
            keep = name in wanted_tags
        if keep and name in ("Body", "UniqueBody") and shape is not None:
            out.append(mime.convert_body(copy.deepcopy(el), shape.findtext(t("BodyType")) or ""))
        elif keep:
            out.append(copy.deepcopy(el))
    body = elem.find(t("Body"))
    if "TextBody" in wanted_tags and body is not None:
        text = mime.convert_body(copy.deepcopy(body), "Text")
        text.tag = t("TextBody")
        out.append(text)
    include = shape is not None and shape.findtext(t("IncludeMimeContent")) in ("true", "1")
    if (include or "MimeContent" in wanted_tags) and local(elem) in ("Message", "PostItem"):
        out.insert(0, mime.mime_content(elem))  # only mail has RFC 5322 MIME in the sandbox
    return out
