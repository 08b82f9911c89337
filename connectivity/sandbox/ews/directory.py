"""People and directory: ResolveNames, ConvertId, automatic replies (OOF settings)."""

from __future__ import annotations

import base64
import binascii
import copy
import datetime as dt

from lxml import etree

from .. import items as it
from ..soap import (
    MNS,
    TNS,
    EWSError,
    m,
    operation_response,
    parse,
    response_message,
    sub,
    t,
)
from .base import Base, Ctx

CONTACT_FIELDS = (
    "DisplayName", "GivenName", "Surname", "CompanyName", "EmailAddresses",
    "PhysicalAddresses", "PhoneNumbers", "JobTitle", "Department",
)  # fmt: skip


class DirectoryOps(Base):
    # --- version detection -----------------------------------------------------------------------
    def op_ConvertId(self, ctx: Ctx, req):
        resp, msgs = operation_response("ConvertId")
        dest = req.get("DestinationFormat", "EwsId")
        for alt in req.find(m("SourceIds")):
            try:
                raw = self._decode_alt(alt.get("Format", "EwsId"), alt.get("Id", ""))
            except EWSError as e:
                response_message(msgs, "ConvertId", e)
                continue
            msg = response_message(msgs, "ConvertId")
            out = sub(msg, m("AlternateId"))
            out.set("{http://www.w3.org/2001/XMLSchema-instance}type", "t:AlternateIdType")
            out.set("Format", dest)
            out.set("Id", self._encode_alt(dest, raw))
            out.set("Mailbox", alt.get("Mailbox", ctx.acting))
        return resp

    @staticmethod
    def _decode_alt(fmt: str, value: str) -> bytes:
        try:
            if fmt == "HexEntryId":
                raw = bytes.fromhex(value)
            else:
                raw = base64.b64decode(value.replace("-", "+").replace("_", "/"), validate=True)
        except (ValueError, binascii.Error):
            raise EWSError("ErrorInvalidIdMalformed") from None
        if len(raw) < 8:
            raise EWSError("ErrorInvalidIdMalformed")
        return raw

    @staticmethod
    def _encode_alt(fmt: str, raw: bytes) -> str:
        if fmt == "HexEntryId":
            return raw.hex().upper()
        if fmt == "OwaId":
            return base64.urlsafe_b64encode(raw).decode()
        return base64.b64encode(raw).decode()

    # --- directory ----------------------------------------------------------------------------
    def op_ResolveNames(self, ctx: Ctx, req):
        resp, msgs = operation_response("ResolveNames")
        needle = (req.findtext(m("UnresolvedEntry")) or "").strip().lower()
        if needle.startswith("smtp:"):
            needle = needle[5:]
        full = req.get("ReturnFullContactData", "false") in ("true", "1")
        scope = req.get("SearchScope", "ActiveDirectoryContacts")
        directory = [
            r
            for r in self.store.list_mailboxes()
            if needle and (needle in r["address"] or needle in (r["display_name"] or "").lower())
        ]
        contacts = self._matching_contacts(ctx, needle) if "Contacts" in scope else []
        if scope in ("Contacts", "ContactsActiveDirectory"):
            order = [("contact", c) for c in contacts]
            order += [("mailbox", r) for r in directory] if scope != "Contacts" else []
        else:
            order = [("mailbox", r) for r in directory] + [("contact", c) for c in contacts]
        if not order:
            response_message(msgs, "ResolveNames", EWSError("ErrorNameResolutionNoResults"))
            return resp
        msg = response_message(msgs, "ResolveNames")
        if len(order) > 1:
            msg.set("ResponseClass", "Warning")
            msg.find(m("ResponseCode")).text = "ErrorNameResolutionMultipleResults"
            msg.insert(0, etree.Element(m("MessageText")))
            msg[0].text = "Multiple results were found."
        rs = sub(
            msg,
            m("ResolutionSet"),
            TotalItemsInView=str(len(order)),
            IncludesLastItemInRange="true",
        )
        for kind, hit in order:
            res = sub(rs, t("Resolution"))
            if kind == "mailbox":
                it.mailbox_elem(res, "", hit["address"], hit["display_name"])
                if full:
                    contact = sub(res, t("Contact"))
                    sub(contact, t("DisplayName"), hit["display_name"] or hit["address"])
                    emails = sub(contact, t("EmailAddresses"))
                    sub(emails, t("Entry"), f"SMTP:{hit['address']}", Key="EmailAddress1")
                continue
            row, elem = hit
            email = elem.findtext(f"{t('EmailAddresses')}/{t('Entry')}") or ""
            it.mailbox_elem(res, "", email, elem.findtext(t("DisplayName")))
            mbx = res.find(t("Mailbox"))
            mbx.find(t("MailboxType")).text = "Contact"
            sub(mbx, t("ItemId"), Id=row["id"], ChangeKey=row["change_key"])
            if full:
                contact = sub(res, t("Contact"))
                for tag in CONTACT_FIELDS:
                    found = elem.find(t(tag))
                    if found is not None:
                        contact.append(copy.deepcopy(found))
        return resp

    def _matching_contacts(self, ctx: Ctx, needle: str) -> list:
        folder = self.store.distinguished_folder(ctx.acting, "contacts")
        if not needle or folder is None:
            return []
        hits = []
        for row in self.store.folder_items(folder["id"]):
            if row["element"] != "Contact":
                continue
            elem = self._xml(row)
            names = [elem.findtext(t(tag)) or "" for tag in ("DisplayName", "GivenName", "Surname")]
            holder = elem.find(t("EmailAddresses"))
            names += [e.text or "" for e in holder] if holder is not None else []
            if any(needle in n.lower() for n in names):
                hits.append((row, elem))
        return hits

    # --- automatic replies ----------------------------------------------------------------------
    def op_GetUserOofSettings(self, ctx: Ctx, req):
        address = req.findtext(f"{t('Mailbox')}/{t('Address')}") or ctx.acting
        resp = etree.Element(m("GetUserOofSettingsResponse"), nsmap={"m": MNS, "t": TNS})
        try:
            address = self.check_mailbox(ctx, address)
        except EWSError as e:
            response_message(resp, "", e, tag="ResponseMessage")
            return resp
        response_message(resp, "", tag="ResponseMessage")
        stored = self.store.get_mailbox(address)["oof"]
        if stored:
            resp.append(parse(stored))
        else:
            oof = sub(resp, t("OofSettings"))
            sub(oof, t("OofState"), "Disabled")
            sub(oof, t("ExternalAudience"), "All")
            now = it.utcnow()
            dur = sub(oof, t("Duration"))
            sub(dur, t("StartTime"), it.fmt(now))
            sub(dur, t("EndTime"), it.fmt(now + dt.timedelta(days=1)))
            sub(sub(oof, t("InternalReply")), t("Message"))
            sub(sub(oof, t("ExternalReply")), t("Message"))
        sub(resp, m("AllowExternalOof"), "All")
        return resp

    def op_SetUserOofSettings(self, ctx: Ctx, req):
        address = req.findtext(f"{t('Mailbox')}/{t('Address')}") or ctx.acting
        resp = etree.Element(m("SetUserOofSettingsResponse"), nsmap={"m": MNS, "t": TNS})
        try:
            address = self.check_mailbox(ctx, address)
            settings = req.find(t("UserOofSettings"))
            if settings is None or settings.find(t("OofState")) is None:
                raise EWSError("ErrorInvalidRequest", "UserOofSettings/OofState is required.")
        except EWSError as e:
            response_message(resp, "", e, tag="ResponseMessage")
            return resp
        oof = etree.Element(t("OofSettings"), nsmap={"t": TNS})
        for el in settings:
            oof.append(copy.deepcopy(el))
        self.store.update_mailbox(address, oof=etree.tostring(oof).decode())
        response_message(resp, "", tag="ResponseMessage")
        return resp
