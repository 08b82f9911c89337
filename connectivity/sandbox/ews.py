"""EWS SOAP operations of the sandbox (Exchange 2016+/Exchange Online shaped).

`EWSService.handle()` takes the raw SOAP request of an authenticated caller, resolves the
mailbox it acts on (ExchangeImpersonation header, grant table, EWS switches) and dispatches to
one `op_<Operation>` method. Per-item errors become error response messages; request-level
errors become SOAP faults, as Exchange does.
"""

from __future__ import annotations

import base64
import binascii
import copy
import datetime as dt
import logging
from dataclasses import dataclass

from lxml import etree

from . import items as it
from .auth import AuthError, Principal, ews_allowed, grant_covers
from .soap import (
    MNS,
    SOAPNS,
    TNS,
    EWSError,
    envelope,
    fault,
    local,
    m,
    operation_response,
    parse,
    response_message,
    sub,
    t,
)
from .store import Store, new_change_key

log = logging.getLogger("connectivity.sandbox.ews")


@dataclass
class Ctx:
    principal: Principal
    acting: str  # primary SMTP address of the mailbox the request acts as


class EWSService:
    def __init__(self, store: Store):
        self.store = store

    # --- entry point ---------------------------------------------------------------------------
    def handle(self, body: bytes, principal: Principal) -> tuple[int, bytes]:
        try:
            root = parse(body)
            soap_body = root.find(f"{{{SOAPNS}}}Body")
            if soap_body is None or len(soap_body) == 0:
                raise EWSError("ErrorSchemaValidation", "The request has no SOAP body.")
            request = soap_body[0]
            if etree.QName(request).namespace != MNS:
                raise EWSError(
                    "ErrorSchemaValidation",
                    f"The element '{local(request)}' is not an EWS operation.",
                )
            header = root.find(f"{{{SOAPNS}}}Header")
            ctx = self._context(principal, header)
        except etree.XMLSyntaxError as e:
            return 500, fault(
                EWSError("ErrorSchemaValidation", f"The request is not valid XML: {e}")
            )
        except EWSError as e:
            return 500, fault(e)
        refusal = ews_allowed(self.store, principal, ctx.acting)
        if refusal:
            raise AuthError(403, refusal)
        op = local(request).removesuffix("Request")
        handler = getattr(self, f"op_{op}", None)
        if handler is None:
            return 500, fault(
                EWSError(
                    "ErrorSchemaValidation", f"The operation {op} is not supported by the sandbox."
                )
            )
        try:
            return 200, envelope(handler(ctx, request))
        except EWSError as e:
            return 500, fault(e)

    def _context(self, principal: Principal, header) -> Ctx:
        imp = header.find(t("ExchangeImpersonation")) if header is not None else None
        if imp is not None:
            sid = imp.find(t("ConnectingSID"))
            target = None
            if sid is not None and len(sid):
                target = (sid[0].text or "").strip().lower()
            if not target:
                raise EWSError(
                    "ErrorInvalidExchangeImpersonationHeaderData",
                    "The impersonation header does not name a user.",
                )
            if self.store.get_mailbox(target) is None:
                raise EWSError("ErrorNonExistentMailbox")
            if not grant_covers(self.store, principal.key, target):
                raise EWSError("ErrorImpersonateUserDenied")
            return Ctx(principal, target)
        if principal.kind == "app":
            raise EWSError("ErrorInvalidExchangeImpersonationHeaderData")
        return Ctx(principal, principal.user)

    # --- access helpers ------------------------------------------------------------------------
    def check_mailbox(self, ctx: Ctx, address: str) -> str:
        address = address.strip().lower()
        if address == ctx.acting:
            return address
        if self.store.get_mailbox(address) is None:
            raise EWSError("ErrorNonExistentMailbox")
        # A user with full-access delegation (grant table) may open another mailbox.
        if ctx.principal.kind == "user" and grant_covers(self.store, ctx.principal.key, address):
            return address
        raise EWSError("ErrorAccessDenied")

    def resolve_folder(self, ctx: Ctx, ref: etree._Element):
        kind = local(ref)
        if kind == "DistinguishedFolderId":
            mbx = ref.findtext(f"{t('Mailbox')}/{t('EmailAddress')}") or ctx.acting
            mbx = self.check_mailbox(ctx, mbx)
            row = self.store.distinguished_folder(mbx, ref.get("Id", ""))
            if row is None:
                raise EWSError("ErrorFolderNotFound")
            return row
        if kind == "FolderId":
            row = self.store.folder(ref.get("Id", ""))
            if row is None:
                self._check_id(ref.get("Id", ""))
                raise EWSError("ErrorFolderNotFound")
            self.check_mailbox(ctx, row["mailbox"])
            return row
        raise EWSError("ErrorInvalidRequest", f"Unsupported folder reference {kind}.")

    def resolve_item(self, ctx: Ctx, ref: etree._Element):
        row = self.store.get_item(ref.get("Id", ""))
        if row is None:
            self._check_id(ref.get("Id", ""))
            raise EWSError("ErrorItemNotFound")
        self.check_mailbox(ctx, row["mailbox"])
        return row

    @staticmethod
    def _check_id(value: str) -> None:
        try:
            if len(base64.b64decode(value, validate=True)) < 8:
                raise ValueError
        except (binascii.Error, ValueError):
            raise EWSError("ErrorInvalidIdMalformed") from None

    def folder_element(self, parent: etree._Element, row, shape=None) -> etree._Element:
        el = sub(parent, t(row["element"]))
        sub(el, t("FolderId"), Id=row["id"], ChangeKey=row["change_key"])
        if row["parent_id"]:
            prow = self.store.folder(row["parent_id"])
            sub(el, t("ParentFolderId"), Id=prow["id"], ChangeKey=prow["change_key"])
        if row["folder_class"]:
            sub(el, t("FolderClass"), row["folder_class"])
        sub(el, t("DisplayName"), row["display_name"])
        total, unread, children = self.store.folder_counts(row["id"])
        sub(el, t("TotalCount"), str(total))
        sub(el, t("ChildFolderCount"), str(children))
        if row["element"] != "CalendarFolder":
            sub(el, t("UnreadCount"), str(unread))
        if row["distinguished"]:
            sub(el, t("DistinguishedFolderId"), row["distinguished"])
        return el

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

    # --- folders ------------------------------------------------------------------------------
    def op_GetFolder(self, ctx: Ctx, req):
        resp, msgs = operation_response("GetFolder")
        for ref in req.find(m("FolderIds")):
            try:
                row = self.resolve_folder(ctx, ref)
            except EWSError as e:
                response_message(msgs, "GetFolder", e)
                continue
            msg = response_message(msgs, "GetFolder")
            self.folder_element(sub(msg, m("Folders")), row)
        return resp

    def op_FindFolder(self, ctx: Ctx, req):
        resp, msgs = operation_response("FindFolder")
        deep = req.get("Traversal", "Shallow") == "Deep"
        view = req.find(m("IndexedPageFolderView"))
        for ref in req.find(m("ParentFolderIds")):
            try:
                parent = self.resolve_folder(ctx, ref)
            except EWSError as e:
                response_message(msgs, "FindFolder", e)
                continue
            rows = self.store.child_folders(parent["id"], deep=deep)
            page, attrs = self._page(rows, view)
            msg = response_message(msgs, "FindFolder")
            root = sub(msg, m("RootFolder"), **attrs)
            folders = sub(root, t("Folders"))
            for row in page:
                self.folder_element(folders, row)
        return resp

    def op_CreateFolder(self, ctx: Ctx, req):
        resp, msgs = operation_response("CreateFolder")
        parent = self.resolve_folder(ctx, req.find(m("ParentFolderId"))[0])
        for folder in req.find(m("Folders")):
            name = folder.findtext(t("DisplayName")) or "New Folder"
            cls = folder.findtext(t("FolderClass")) or (
                {
                    "CalendarFolder": "IPF.Appointment",
                    "TasksFolder": "IPF.Task",
                    "ContactsFolder": "IPF.Contact",
                }.get(local(folder), "IPF.Note")
            )
            fid = self.store.create_folder(
                parent["mailbox"], parent["id"], name, cls, local(folder)
            )
            row = self.store.folder(fid)
            msg = response_message(msgs, "CreateFolder")
            el = sub(sub(msg, m("Folders")), t(row["element"]))
            sub(el, t("FolderId"), Id=row["id"], ChangeKey=row["change_key"])
        return resp

    def op_DeleteFolder(self, ctx: Ctx, req):
        resp, msgs = operation_response("DeleteFolder")
        for ref in req.find(m("FolderIds")):
            try:
                row = self.resolve_folder(ctx, ref)
                if row["distinguished"]:
                    raise EWSError(
                        "ErrorDeleteDistinguishedFolder", "Distinguished folders cannot be deleted."
                    )
            except EWSError as e:
                response_message(msgs, "DeleteFolder", e)
                continue
            self.store.delete_folder(row["id"])
            response_message(msgs, "DeleteFolder")
        return resp

    @staticmethod
    def _page(rows: list, view) -> tuple[list, dict[str, str]]:
        total = len(rows)
        if view is None:
            return rows, {"TotalItemsInView": str(total), "IncludesLastItemInRange": "true"}
        size = int(view.get("MaxEntriesReturned") or total or 1)
        offset = int(view.get("Offset") or 0)
        if view.get("BasePoint", "Beginning") == "End":
            offset = max(total - offset - size, 0)
        page = rows[offset : offset + size]
        last = offset + len(page) >= total
        attrs = {"TotalItemsInView": str(total), "IncludesLastItemInRange": str(last).lower()}
        if not last:
            attrs = {"IndexedPagingOffset": str(offset + len(page)), **attrs}
        else:
            attrs = {"IndexedPagingOffset": str(total), **attrs}
        return page, attrs

    # --- items: read ----------------------------------------------------------------------------
    def _xml(self, row) -> etree._Element:
        if "xml" in row.keys():  # noqa: SIM118 - sqlite3.Row membership tests values
            return parse(row["xml"])
        return parse(self.store.items_xml([row["id"]])[row["id"]])

    def op_FindItem(self, ctx: Ctx, req):
        resp, msgs = operation_response("FindItem")
        shape = req.find(m("ItemShape"))
        restriction = req.find(m("Restriction"))
        sort_order = req.find(m("SortOrder"))
        cal_view = req.find(m("CalendarView"))
        view = req.find(m("IndexedPageItemView"))
        for ref in req.find(m("ParentFolderIds")):
            try:
                folder = self.resolve_folder(ctx, ref)
            except EWSError as e:
                response_message(msgs, "FindItem", e)
                continue
            rows = self.store.folder_items(folder["id"])
            cache: dict[str, etree._Element] = {}

            def load(row, cache=cache):
                if row["id"] not in cache:
                    cache[row["id"]] = self._xml(row)
                return cache[row["id"]]

            if cal_view is not None:
                lo = it.norm_dt(cal_view.get("StartDate"))
                hi = it.norm_dt(cal_view.get("EndDate"))
                rows = [r for r in rows if r["start"] and r["start"] < hi and r["end"] > lo]
                rows.sort(key=lambda r: r["start"])
            if restriction is not None and len(restriction):
                expr = restriction[0]
                try:
                    rows = [r for r in rows if it.matches(expr, r, lambda r=r: load(r))]
                except EWSError as e:
                    response_message(msgs, "FindItem", e)
                    continue
            rows = it.sort_rows(rows, sort_order, load)
            if cal_view is not None:
                limit = int(cal_view.get("MaxEntriesReturned") or len(rows) or 1)
                page = rows[:limit]
                attrs = {
                    "TotalItemsInView": str(len(rows)),
                    "IncludesLastItemInRange": str(len(page) == len(rows)).lower(),
                }
            else:
                page, attrs = self._page(rows, view)
            xml = self.store.items_xml([r["id"] for r in page])
            msg = response_message(msgs, "FindItem")
            root = sub(msg, m("RootFolder"), **attrs)
            container = sub(root, t("Items"))
            for row in page:
                container.append(it.apply_shape(parse(xml[row["id"]]), shape))
        return resp

    def op_GetItem(self, ctx: Ctx, req):
        resp, msgs = operation_response("GetItem")
        shape = req.find(m("ItemShape"))
        for ref in it.ids_in(req.find(m("ItemIds"))):
            try:
                row = self.resolve_item(ctx, ref)
            except EWSError as e:
                response_message(msgs, "GetItem", e)
                continue
            msg = response_message(msgs, "GetItem")
            sub(msg, m("Items")).append(it.apply_shape(parse(row["xml"]), shape))
        return resp

    # --- items: write ---------------------------------------------------------------------------
    def _default_folder(self, ctx: Ctx, kind: str, disposition: str):
        name = {"CalendarItem": "calendar", "Task": "tasks", "Contact": "contacts"}.get(kind)
        if name is None:
            name = "sentitems" if disposition == "SendAndSaveCopy" else "drafts"
        return self.store.distinguished_folder(ctx.acting, name)

    def deliver(self, sender: str, elem: etree._Element, now: dt.datetime) -> list[str]:
        """Deliver a sent message to every sandbox mailbox among its recipients."""
        delivered = []
        sender_row = self.store.get_mailbox(sender)
        rows = []
        for rcpt in it.recipients(elem):
            if self.store.get_mailbox(rcpt) is None:
                continue  # a real server would route or NDR; the sandbox has no other hosts
            inbox = self.store.distinguished_folder(rcpt, "inbox")
            copy_ = it.delivered_copy(
                elem, sender, sender_row["display_name"] if sender_row else None, now
            )
            rows.append(it.new_row(copy_, rcpt, inbox))
            delivered.append(rcpt)
        if rows:
            self.store.insert_items(rows)
        return delivered

    def op_CreateItem(self, ctx: Ctx, req):
        resp, msgs = operation_response("CreateItem")
        disposition = req.get("MessageDisposition", "SaveOnly")
        saved = req.find(m("SavedItemFolderId"))
        target = None
        if saved is not None and len(saved):
            target = self.resolve_folder(ctx, saved[0])
        now = it.utcnow()
        rows = []
        for elem in req.find(m("Items")):
            elem = copy.deepcopy(elem)
            kind = local(elem)
            if kind not in it.ITEM_CLASSES:
                response_message(
                    msgs,
                    "CreateItem",
                    EWSError(
                        "ErrorInvalidRequest", f"Item type {kind} is not supported by the sandbox."
                    ),
                )
                continue
            is_send = kind == "Message" and disposition in ("SendOnly", "SendAndSaveCopy")
            if is_send:
                if not it.recipients(elem):
                    response_message(
                        msgs,
                        "CreateItem",
                        EWSError("ErrorInvalidRecipients", "At least one recipient is required."),
                    )
                    continue
                for tag in ("From", "Sender"):
                    if it.child(elem, tag) is None:
                        me = self.store.get_mailbox(ctx.acting)
                        it.mailbox_elem(elem, tag, ctx.acting, me["display_name"])
                it.set_child(elem, "DateTimeSent", it.fmt(now))
                it.set_child(elem, "IsDraft", "false")
                self.deliver(ctx.acting, elem, now)
            elif kind == "Message":
                it.set_child(elem, "IsDraft", "true")
            msg = response_message(msgs, "CreateItem")
            items_el = sub(msg, m("Items"))
            if is_send and disposition == "SendOnly":
                continue
            folder = target or self._default_folder(ctx, kind, disposition)
            it.prepare_new(elem, now=now)
            row = it.new_row(elem, folder["mailbox"], folder)
            rows.append(row)
            if is_send:
                continue  # Exchange returns no ItemId for sent messages, only saves the copy
            out = sub(items_el, t(kind))
            sub(out, t("ItemId"), Id=row["id"], ChangeKey=row["change_key"])
        if rows:
            self.store.insert_items(rows)
        return resp

    def op_UpdateItem(self, ctx: Ctx, req):
        resp, msgs = operation_response("UpdateItem")
        disposition = req.get("MessageDisposition", "SaveOnly")
        conflict = req.get("ConflictResolution", "AutoResolve")
        now = it.utcnow()
        for change in req.find(m("ItemChanges")):
            ref = change.find(t("ItemId"))
            try:
                row = self.resolve_item(ctx, ref)
                if conflict == "NeverOverwrite" and ref.get("ChangeKey") not in (
                    None,
                    row["change_key"],
                ):
                    raise EWSError(
                        "ErrorIrresolvableConflict",
                        "The send or update operation could not be performed because "
                        "the change key passed in the request does not match the "
                        "current change key for the item.",
                    )
                elem = parse(row["xml"])
                for update in change.find(t("Updates")):
                    self._apply_update(elem, update)
            except EWSError as e:
                response_message(msgs, "UpdateItem", e)
                continue
            change_key = new_change_key()
            it.set_child(elem, "ItemId", index=0, Id=row["id"], ChangeKey=change_key)
            it.set_child(elem, "LastModifiedTime", it.fmt(now))
            fields = {"xml": etree.tostring(elem), "change_key": change_key, **it.columns(elem)}
            self.store.update_item(row["id"], **fields)
            msg = response_message(msgs, "UpdateItem")
            if local(elem) == "Message" and disposition in ("SendOnly", "SendAndSaveCopy"):
                # Sent: delivered, the draft moves to Sent Items; no ItemId is returned.
                self.deliver(row["mailbox"], elem, now)
                row = self.store.get_item(row["id"])
                if disposition == "SendAndSaveCopy":
                    self._move(row, self.store.distinguished_folder(row["mailbox"], "sentitems"))
                else:
                    self.store.delete_item(row["id"])
                sub(msg, m("Items"))
                continue
            out = sub(sub(msg, m("Items")), t(local(elem)))
            sub(out, t("ItemId"), Id=row["id"], ChangeKey=change_key)
            sub(sub(msg, m("ConflictResults")), t("Count"), "0")
        return resp

    @staticmethod
    def _apply_update(elem: etree._Element, update: etree._Element) -> None:
        kind = local(update)
        uri = update[0]
        if local(uri) == "ExtendedFieldURI":
            key = it.ext_key(uri)
            for prop in elem.findall(t("ExtendedProperty")):
                u = prop.find(t("ExtendedFieldURI"))
                if u is not None and it.ext_key(u) == key:
                    elem.remove(prop)
            if kind in ("SetItemField", "AppendToItemField"):
                for prop in update[1].findall(t("ExtendedProperty")):
                    elem.append(copy.deepcopy(prop))
            return
        tag = it.field_tag(uri.get("FieldURI", ""))
        if kind == "DeleteItemField":
            for old in elem.findall(t(tag)):
                elem.remove(old)
            return
        if len(update) < 2 or len(update[1]) == 0:
            raise EWSError("ErrorInvalidRequest", f"{kind} without a value.")
        new = update[1][0]
        old = elem.find(new.tag)
        if kind == "AppendToItemField" and old is not None:
            if len(new):
                old.extend(copy.deepcopy(list(new)))
            else:
                old.text = (old.text or "") + (new.text or "")
            return
        if old is not None:
            elem.replace(old, copy.deepcopy(new))
        else:
            elem.append(copy.deepcopy(new))

    def op_DeleteItem(self, ctx: Ctx, req):
        resp, msgs = operation_response("DeleteItem")
        delete_type = req.get("DeleteType", "HardDelete")
        for ref in it.ids_in(req.find(m("ItemIds"))):
            try:
                row = self.resolve_item(ctx, ref)
            except EWSError as e:
                response_message(msgs, "DeleteItem", e)
                continue
            folder = self.store.folder(row["folder_id"])
            if delete_type == "HardDelete":
                self.store.delete_item(row["id"])
            else:
                dest = "recoverableitemsdeletions"
                if (
                    delete_type == "MoveToDeletedItems"
                    and folder["distinguished"] != "deleteditems"
                ):
                    dest = "deleteditems"
                self._move(row, self.store.distinguished_folder(row["mailbox"], dest), keep_id=True)
            response_message(msgs, "DeleteItem")
        return resp

    def _move(self, row, folder, keep_id: bool = False, copy_only: bool = False):
        elem = parse(row["xml"])
        if keep_id and not copy_only:
            it.stamp(elem, row["id"], row["change_key"], folder)
            self.store.update_item(
                row["id"],
                folder_id=folder["id"],
                mailbox=folder["mailbox"],
                xml=etree.tostring(elem),
            )
            return row["id"], row["change_key"]
        new = it.new_row(elem, folder["mailbox"], folder)
        self.store.insert_items([new])
        if not copy_only:
            self.store.delete_item(row["id"])
        return new["id"], new["change_key"]

    def _move_or_copy(self, ctx: Ctx, req, op: str):
        resp, msgs = operation_response(op)
        to = self.resolve_folder(ctx, req.find(m("ToFolderId"))[0])
        for ref in it.ids_in(req.find(m("ItemIds"))):
            try:
                row = self.resolve_item(ctx, ref)
            except EWSError as e:
                response_message(msgs, op, e)
                continue
            new_id, ck = self._move(row, to, copy_only=op == "CopyItem")
            msg = response_message(msgs, op)
            out = sub(sub(msg, m("Items")), t(row["element"]))
            sub(out, t("ItemId"), Id=new_id, ChangeKey=ck)
        return resp

    def op_MoveItem(self, ctx: Ctx, req):
        return self._move_or_copy(ctx, req, "MoveItem")

    def op_CopyItem(self, ctx: Ctx, req):
        return self._move_or_copy(ctx, req, "CopyItem")

    def op_SendItem(self, ctx: Ctx, req):
        resp, msgs = operation_response("SendItem")
        save = req.get("SaveItemToFolder", "true") == "true"
        saved = req.find(m("SavedItemFolderId"))
        now = it.utcnow()
        for ref in it.ids_in(req.find(m("ItemIds"))):
            try:
                row = self.resolve_item(ctx, ref)
            except EWSError as e:
                response_message(msgs, "SendItem", e)
                continue
            elem = parse(row["xml"])
            self.deliver(row["mailbox"], elem, now)
            if save:
                dest = (
                    self.resolve_folder(ctx, saved[0])
                    if saved is not None and len(saved)
                    else self.store.distinguished_folder(row["mailbox"], "sentitems")
                )
                self._move(row, dest)
            else:
                self.store.delete_item(row["id"])
            response_message(msgs, "SendItem")
        return resp

    # --- directory ----------------------------------------------------------------------------
    def op_ResolveNames(self, ctx: Ctx, req):
        resp, msgs = operation_response("ResolveNames")
        needle = (req.findtext(m("UnresolvedEntry")) or "").strip().lower()
        if needle.startswith("smtp:"):
            needle = needle[5:]
        hits = [
            r
            for r in self.store.list_mailboxes()
            if needle and (needle in r["address"] or needle in (r["display_name"] or "").lower())
        ]
        if not hits:
            response_message(msgs, "ResolveNames", EWSError("ErrorNameResolutionNoResults"))
            return resp
        msg = response_message(msgs, "ResolveNames")
        if len(hits) > 1:
            msg.set("ResponseClass", "Warning")
            msg.find(m("ResponseCode")).text = "ErrorNameResolutionMultipleResults"
            msg.insert(0, etree.Element(m("MessageText")))
            msg[0].text = "Multiple results were found."
        rs = sub(
            msg, m("ResolutionSet"), TotalItemsInView=str(len(hits)), IncludesLastItemInRange="true"
        )
        for r in hits:
            res = sub(rs, t("Resolution"))
            it.mailbox_elem(res, "", r["address"], r["display_name"])
        return resp

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

    def op_GetServerTimeZones(self, ctx: Ctx, req):
        from .availability import TIME_ZONES, time_zone_definition

        resp, msgs = operation_response("GetServerTimeZones")
        ids = [el.text for el in req.iter(t("Id"))] or list(TIME_ZONES)
        unknown = [i for i in ids if i not in TIME_ZONES]
        if unknown:
            response_message(
                msgs,
                "GetServerTimeZones",
                EWSError(
                    "ErrorTimeZone", f"The time zone {unknown[0]!r} is not known to the sandbox."
                ),
            )
            return resp
        msg = response_message(msgs, "GetServerTimeZones")
        defs = sub(msg, m("TimeZoneDefinitions"))
        for tz_id in ids:
            time_zone_definition(defs, tz_id)
        return resp

    # --- availability -----------------------------------------------------------------------------
    def op_GetUserAvailability(self, ctx: Ctx, req):
        from .availability import free_busy_view

        resp = etree.Element(m("GetUserAvailabilityResponse"), nsmap={"m": MNS, "t": TNS})
        array = sub(resp, m("FreeBusyResponseArray"))
        tz = req.find(t("TimeZone"))
        options = req.find(t("FreeBusyViewOptions"))
        for data in req.find(m("MailboxDataArray")):
            address = (data.findtext(f"{t('Email')}/{t('Address')}") or "").lower()
            fb = sub(array, m("FreeBusyResponse"))
            if self.store.get_mailbox(address) is None:
                response_message(
                    fb,
                    "",
                    EWSError("ErrorMailRecipientNotFound", "The mail recipient was not found."),
                    tag="ResponseMessage",
                )
                continue
            response_message(fb, "", tag="ResponseMessage")
            fb.append(free_busy_view(self.store, address, tz, options))
        return resp
