"""Item writes: CreateItem, UpdateItem, DeleteItem, MoveItem, CopyItem, SendItem and
delivery of sent mail between sandbox mailboxes."""

from __future__ import annotations

import copy
import datetime as dt

from lxml import etree

from .. import conflicts, mime, replies, values
from .. import items as it
from ..soap import (
    EWSError,
    local,
    m,
    operation_response,
    parse,
    response_message,
    sub,
    t,
)
from ..store import new_change_key
from . import meetings
from .base import Base, Ctx


class ItemWriteOps(meetings.MeetingOps, Base):
    # --- items: write ---------------------------------------------------------------------------
    def _default_folder(self, ctx: Ctx, kind: str, disposition: str):
        name = {
            "CalendarItem": "calendar",
            "Task": "tasks",
            "Contact": "contacts",
            "DistributionList": "contacts",
        }.get(kind)
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
        invitations = req.get("SendMeetingInvitations", "SendToNone")
        saved = req.find(m("SavedItemFolderId"))
        target = None
        if saved is not None and len(saved):
            target = self.resolve_folder(ctx, saved[0])
        now = it.utcnow()
        rows = []
        for elem in req.find(m("Items")):
            elem = values.normalize(copy.deepcopy(elem))
            kind = local(elem)
            try:
                mime.fill_from_mime(elem)
                values.check_calendar_item(elem)
            except EWSError as e:
                response_message(msgs, "CreateItem", e)
                continue
            if kind in meetings.KINDS:
                try:
                    self.meeting_response(ctx, kind, elem, now)
                except EWSError as e:
                    response_message(msgs, "CreateItem", e)
                    continue
                sub(response_message(msgs, "CreateItem"), m("Items"))
                continue
            if kind in replies.RESPONSE_OBJECTS:
                try:
                    original = parse(self.resolve_item(ctx, elem.find(t("ReferenceItemId")))["xml"])
                    elem = replies.build(kind, elem, original, ctx.acting)
                except EWSError as e:
                    response_message(msgs, "CreateItem", e)
                    continue
                kind = "Message"
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
            owner = self.store.get_mailbox(folder["mailbox"])
            values.calendar_defaults(elem, owner["address"], owner["display_name"])
            row = it.new_row(elem, folder["mailbox"], folder)
            rows.append(row)
            if kind == "CalendarItem" and invitations in ("SendToAllAndSaveCopy", "SendOnlyToAll"):
                self.send_invitations(folder["mailbox"], elem, now)
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
                self.refuse_occurrence(row, "Updating")
                elem = parse(row["xml"])
                paths = conflicts.changed_paths(change)
                conflicts.check(elem, row["change_key"], ref.get("ChangeKey"), conflict, paths)
                for update in change.find(t("Updates")):
                    self._apply_update(elem, update)
                values.normalize(elem)
            except EWSError as e:
                response_message(msgs, "UpdateItem", e)
                continue
            change_key = new_change_key()
            conflicts.record(elem, change_key, paths)
            it.set_child(elem, "ItemId", index=0, Id=row["id"], ChangeKey=change_key)
            it.set_child(elem, "LastModifiedTime", it.fmt(now))
            fields = {"xml": etree.tostring(elem), "change_key": change_key, **it.columns(elem)}
            self.store.update_item(row["id"], **fields)
            msg = response_message(msgs, "UpdateItem")
            if local(elem) == "Message" and disposition in ("SendOnly", "SendAndSaveCopy"):
                # Sent: delivered, the draft moves to Sent Items; no ItemId is returned.
                self._mark_sent(row["mailbox"], elem, now)
                self.store.update_item(row["id"], xml=etree.tostring(elem), **it.columns(elem))
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
            if isinstance(row, dict) and "occurrence_of" in row:
                self._delete_occurrence(row)
                response_message(msgs, "DeleteItem")
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

    def _delete_occurrence(self, row: dict) -> None:
        """Deleting one occurrence records it in the series' DeletedOccurrences."""
        master = self.store.get_item(row["occurrence_of"])
        elem = parse(master["xml"])
        holder = it.child(elem, "DeletedOccurrences")
        if holder is None:
            holder = sub(elem, t("DeletedOccurrences"))
        sub(sub(holder, t("DeletedOccurrence")), t("Start"), row["start"])
        change_key = new_change_key()
        it.set_child(elem, "ItemId", index=0, Id=master["id"], ChangeKey=change_key)
        self.store.update_item(master["id"], xml=etree.tostring(elem), change_key=change_key)

    def _move(self, row, folder, keep_id: bool = False, copy_only: bool = False):
        kind = "CopiedEvent" if copy_only else "MovedEvent"
        return self.relocate(
            kind, row, folder, lambda: self._move_in_store(row, folder, keep_id, copy_only)
        )

    def _move_in_store(self, row, folder, keep_id: bool, copy_only: bool):
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
                self.refuse_occurrence(row, "Moving or copying")
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

    def _mark_sent(self, mailbox: str, elem: etree._Element, now) -> None:
        """What sending changes on the sender's copy: no longer a draft, sent now, from them."""
        for tag in ("From", "Sender"):
            if it.child(elem, tag) is None:
                me = self.store.get_mailbox(mailbox)
                it.mailbox_elem(elem, tag, mailbox, me["display_name"] if me else None)
        it.set_child(elem, "DateTimeSent", it.fmt(now))
        it.set_child(elem, "IsDraft", "false")
        it.set_child(elem, "IsRead", "true")

    def op_SendItem(self, ctx: Ctx, req):
        resp, msgs = operation_response("SendItem")
        save = req.get("SaveItemToFolder", "true") in ("true", "1")
        saved = req.find(m("SavedItemFolderId"))
        now = it.utcnow()
        for ref in it.ids_in(req.find(m("ItemIds"))):
            try:
                row = self.resolve_item(ctx, ref)
                self.refuse_occurrence(row, "Sending")
            except EWSError as e:
                response_message(msgs, "SendItem", e)
                continue
            elem = parse(row["xml"])
            self._mark_sent(row["mailbox"], elem, now)
            self.store.update_item(row["id"], xml=etree.tostring(elem), **it.columns(elem))
            row = self.store.get_item(row["id"])
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
