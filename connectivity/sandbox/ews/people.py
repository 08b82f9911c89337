"""People and directory extras: ExpandDL (private distribution lists), GetRoomLists/GetRooms
(the sandbox has no room mailboxes), GetDelegate (no delegates) and MarkAsJunk."""

from __future__ import annotations

from lxml import etree

from .. import items as it
from ..soap import MNS, TNS, EWSError, m, operation_response, parse, response_message, sub, t
from .base import Base, Ctx


def _top_response(op: str) -> etree._Element:
    """Responses that carry ResponseClass on the operation element itself."""
    resp = etree.Element(m(f"{op}Response"), nsmap={"m": MNS, "t": TNS}, ResponseClass="Success")
    sub(resp, m("ResponseCode"), "NoError")
    return resp


class PeopleOps(Base):
    def op_ExpandDL(self, ctx: Ctx, req):
        resp, msgs = operation_response("ExpandDL")
        mailbox = req.find(m("Mailbox"))
        if mailbox is None:
            mailbox = req.find(t("Mailbox"))
        if mailbox is None:
            raise EWSError("ErrorSchemaValidation", "ExpandDL needs a Mailbox.")
        ref = mailbox.find(t("ItemId"))
        try:
            if ref is None:
                # Only private lists exist in the sandbox; a directory name expands to nothing.
                raise EWSError("ErrorNameResolutionNoResults")
            row = self.resolve_item(ctx, ref)
            if row["element"] != "DistributionList":
                raise EWSError("ErrorNameResolutionNoResults")
        except EWSError as e:
            response_message(msgs, "ExpandDL", e)
            return resp
        members = parse(row["xml"]).findall(f"{t('Members')}/{t('Member')}/{t('Mailbox')}")
        msg = response_message(msgs, "ExpandDL")
        total = str(len(members))
        dl = sub(msg, m("DLExpansion"), TotalItemsInView=total, IncludesLastItemInRange="true")
        for member in members:
            dl.append(etree.fromstring(etree.tostring(member)))
        return resp

    def op_GetRoomLists(self, ctx: Ctx, req):
        resp = _top_response("GetRoomLists")
        sub(resp, m("RoomLists"))
        return resp

    def op_GetRooms(self, ctx: Ctx, req):
        resp = etree.Element(m("GetRoomsResponse"), nsmap={"m": MNS, "t": TNS})
        resp.set("ResponseClass", "Error")
        sub(resp, m("MessageText"), "No room list was found with that address.")
        sub(resp, m("ResponseCode"), "ErrorNameResolutionNoResults")
        sub(resp, m("DescriptiveLinkKey"), "0")
        return resp

    def op_GetDelegate(self, ctx: Ctx, req):
        address = (
            req.findtext(f"{m('Mailbox')}/{t('EmailAddress')}")
            or req.findtext(f"{t('Mailbox')}/{t('EmailAddress')}")
            or ctx.acting
        )
        self.check_mailbox(ctx, address)
        resp = _top_response("GetDelegate")  # no delegates: no ResponseMessages at all
        sub(resp, m("DeliverMeetingRequests"), "DelegatesAndMe")
        return resp

    def op_MarkAsJunk(self, ctx: Ctx, req):
        resp, msgs = operation_response("MarkAsJunk")
        move = req.get("MoveItem", "true") in ("true", "1")
        is_junk = req.get("IsJunk", "true") in ("true", "1")
        for ref in it.ids_in(req.find(m("ItemIds"))):
            try:
                row = self.resolve_item(ctx, ref)
                self.refuse_occurrence(row, "Marking as junk")
            except EWSError as e:
                response_message(msgs, "MarkAsJunk", e)
                continue
            msg = response_message(msgs, "MarkAsJunk")
            if move:
                dest = "junkemail" if is_junk else "inbox"
                folder = self.store.distinguished_folder(row["mailbox"], dest)
                new_id, change_key = self._move(row, folder)
                sub(msg, m("MovedItemId"), Id=new_id, ChangeKey=change_key)
        return resp

    def op_GetMailTips(self, ctx: Ctx, req):
        resp = _top_response("GetMailTips")
        msgs = sub(resp, m("ResponseMessages"))
        for mailbox in req.find(m("Recipients")):
            if not isinstance(mailbox.tag, str):
                continue
            address = (mailbox.findtext(t("EmailAddress")) or "").strip().lower()
            row = self.store.get_mailbox(address) if address else None
            msg = response_message(msgs, "", tag="MailTipsResponseMessageType")
            tips = sub(msg, m("MailTips"))
            recipient = sub(tips, t("RecipientAddress"))
            sub(recipient, t("Name"), (row["display_name"] if row else None) or address)
            sub(recipient, t("EmailAddress"), address)
            sub(recipient, t("RoutingType"), "SMTP")
            sub(tips, t("PendingMailTips"))
            oof = sub(tips, t("OutOfOffice"))
            reply = sub(oof, t("ReplyBody"))
            sub(reply, t("Message"), self._oof_reply(row) if row else "")
            sub(tips, t("MailboxFull"), "false")
            sub(tips, t("TotalMemberCount"), "1")
            sub(tips, t("ExternalMemberCount"), "0" if row else "1")
            sub(tips, t("MaxMessageSize"), str(35 * 1024 * 1024))
            sub(tips, t("DeliveryRestricted"), "false")
            sub(tips, t("IsModerated"), "false")
            sub(tips, t("InvalidRecipient"), "false" if row or "@" in address else "true")
        return resp

    @staticmethod
    def _oof_reply(row) -> str:
        """The internal automatic reply when it is on (Enabled or Scheduled), else empty."""
        if not row["oof"]:
            return ""
        settings = etree.fromstring(row["oof"].encode())
        if settings.findtext(t("OofState")) == "Disabled":
            return ""
        return settings.findtext(f"{t('InternalReply')}/{t('Message')}") or ""
