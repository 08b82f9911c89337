"""Attachment operations: CreateAttachment, GetAttachment, DeleteAttachment."""

from __future__ import annotations

import copy

from lxml import etree

from .. import attachments as att
from .. import items as it
from ..soap import EWSError, m, operation_response, parse, response_message, sub, t
from ..store import new_change_key
from .base import Base, Ctx


class AttachmentOps(Base):
    def _save(self, row, elem: etree._Element) -> str:
        """Store an item whose attachments changed; returns its new ChangeKey."""
        change_key = new_change_key()
        it.set_child(elem, "ItemId", index=0, Id=row["id"], ChangeKey=change_key)
        it.set_child(elem, "LastModifiedTime", it.fmt(it.utcnow()))
        att.set_has_attachments(elem)
        fields = {"xml": etree.tostring(elem), "change_key": change_key, **it.columns(elem)}
        self.store.update_item(row["id"], **fields)
        return change_key

    def _holder_of(self, ctx: Ctx, att_id: str):
        row = self.store.get_item(att.item_id_of(att_id))
        if row is None:
            raise EWSError("ErrorItemNotFound")
        self.check_mailbox(ctx, row["mailbox"])
        elem = parse(row["xml"])
        found = att.find(elem, att_id)
        if found is None:
            raise EWSError("ErrorAttachmentNotFound")
        return row, elem, found

    def op_CreateAttachment(self, ctx: Ctx, req):
        resp, msgs = operation_response("CreateAttachment")
        parent = req.find(m("ParentItemId"))
        try:
            row = self.resolve_item(ctx, parent)
            self.refuse_occurrence(row, "Attaching to")
        except EWSError as e:
            for _ in req.find(m("Attachments")):
                response_message(msgs, "CreateAttachment", e)
            return resp
        elem = parse(row["xml"])
        holder = elem.find(t("Attachments"))
        if holder is None:
            holder = etree.SubElement(elem, t("Attachments"))
        now = it.fmt(it.utcnow())
        created = []
        for new in req.find(m("Attachments")):
            if not isinstance(new.tag, str):
                continue
            try:
                prepared = att.prepare(copy.deepcopy(new), row["id"], now)
            except EWSError as e:
                created.append((None, e))
                continue
            holder.append(prepared)
            created.append((prepared, None))
        change_key = self._save(row, elem)
        for prepared, error in created:
            if error is not None:
                response_message(msgs, "CreateAttachment", error)
                continue
            msg = response_message(msgs, "CreateAttachment")
            out = sub(sub(msg, m("Attachments")), prepared.tag)
            sub(
                out,
                t("AttachmentId"),
                Id=prepared.find(t("AttachmentId")).get("Id"),
                RootItemId=row["id"],
                RootItemChangeKey=change_key,
            )
        return resp

    def op_GetAttachment(self, ctx: Ctx, req):
        resp, msgs = operation_response("GetAttachment")
        for ref in req.find(m("AttachmentIds")):
            if not isinstance(ref.tag, str):
                continue
            try:
                _row, _elem, found = self._holder_of(ctx, ref.get("Id", ""))
            except EWSError as e:
                response_message(msgs, "GetAttachment", e)
                continue
            msg = response_message(msgs, "GetAttachment")
            sub(msg, m("Attachments")).append(copy.deepcopy(found))
        return resp

    def op_DeleteAttachment(self, ctx: Ctx, req):
        resp, msgs = operation_response("DeleteAttachment")
        for ref in req.find(m("AttachmentIds")):
            if not isinstance(ref.tag, str):
                continue
            try:
                row, elem, found = self._holder_of(ctx, ref.get("Id", ""))
            except EWSError as e:
                response_message(msgs, "DeleteAttachment", e)
                continue
            found.getparent().remove(found)
            change_key = self._save(row, elem)
            msg = response_message(msgs, "DeleteAttachment")
            sub(msg, m("RootItemId"), RootItemId=row["id"], RootItemChangeKey=change_key)
        return resp
