"""Meetings: invitations sent with a calendar item, and the response objects AcceptItem,
TentativelyAcceptItem, DeclineItem and CancelCalendarItem.

Sending a calendar item with attendees (SendMeetingInvitations SendToAllAndSaveCopy/SendOnlyToAll)
puts a tentative copy in each sandbox attendee's calendar and a MeetingRequest in their Inbox.
A response updates the attendee's copy (a decline moves it to Deleted Items), records the
attendee's ResponseType on the organizer's item and sends a MeetingResponse to the organizer.
Cancelling marks the attendees' copies cancelled, sends a MeetingCancellation and moves the
organizer's item to Deleted Items.
"""

from __future__ import annotations

import copy

from lxml import etree

from .. import items as it
from ..soap import TNS, EWSError, local, parse, t
from ..store import new_change_key
from .base import Base, Ctx

RESPONSES = {"AcceptItem": "Accept", "TentativelyAcceptItem": "Tentative", "DeclineItem": "Decline"}
KINDS = (*RESPONSES, "CancelCalendarItem")
_RESPONSE_CLASS = {
    "Accept": ("IPM.Schedule.Meeting.Resp.Pos", "Accepted: "),
    "Tentative": ("IPM.Schedule.Meeting.Resp.Tent", "Tentative: "),
    "Decline": ("IPM.Schedule.Meeting.Resp.Neg", "Declined: "),
}


def attendees(elem: etree._Element) -> list[str]:
    return it.recipients(elem, tags=("RequiredAttendees", "OptionalAttendees"))


def _notice(kind: str, source: etree._Element, item_class: str, subject: str, sender, to):
    """A MeetingRequest/MeetingResponse/MeetingCancellation about `source`."""
    note = etree.Element(t(kind), nsmap={"t": TNS})
    etree.SubElement(note, t("Subject")).text = subject
    body = source.find(t("Body"))
    if body is not None:
        note.append(copy.deepcopy(body))
    etree.SubElement(note, t("ItemClass")).text = item_class
    it.mailbox_elem(note, "ToRecipients", to)
    for tag in ("Start", "End", "Location", "UID"):
        found = source.find(t(tag))
        if found is not None:
            note.append(copy.deepcopy(found))
    it.mailbox_elem(note, "From", sender)
    return note


class MeetingOps(Base):
    def _calendar_copy(self, mailbox: str, uid: str | None):
        folder = self.store.distinguished_folder(mailbox, "calendar")
        for row in self.store.folder_items(folder["id"]):
            if row["element"] == "CalendarItem":
                full = self.store.get_item(row["id"])
                if parse(full["xml"]).findtext(t("UID")) == uid:
                    return full
        return None

    def _save_elem(self, row, elem: etree._Element) -> None:
        change_key = new_change_key()
        it.set_child(elem, "ItemId", index=0, Id=row["id"], ChangeKey=change_key)
        self.store.update_item(
            row["id"], xml=etree.tostring(elem), change_key=change_key, **it.columns(elem)
        )

    def _deliver_notice(self, mailbox: str, note: etree._Element, now) -> None:
        inbox = self.store.distinguished_folder(mailbox, "inbox")
        it.prepare_new(note, now=now, is_read=False)
        it.set_child(note, "IsRead", "false")
        self.store.insert_items([it.new_row(note, mailbox, inbox)])

    def send_invitations(self, organizer: str, elem: etree._Element, now) -> None:
        """Deliver a sent meeting to its sandbox attendees (calendar copy + MeetingRequest)."""
        rows = []
        for address in attendees(elem):
            if address == organizer or self.store.get_mailbox(address) is None:
                continue
            mine = copy.deepcopy(elem)
            for tag in ("ItemId", "ParentFolderId", "MyResponseType", "LegacyFreeBusyStatus"):
                for old in mine.findall(t(tag)):
                    mine.remove(old)
            etree.SubElement(mine, t("MyResponseType")).text = "NoResponseReceived"
            etree.SubElement(mine, t("LegacyFreeBusyStatus")).text = "Tentative"
            calendar = self.store.distinguished_folder(address, "calendar")
            rows.append(it.new_row(mine, address, calendar))
            subject = elem.findtext(t("Subject")) or ""
            note = _notice("MeetingRequest", elem, "IPM.Schedule.Meeting.Request", subject,
                           organizer, address)  # fmt: skip
            etree.SubElement(note, t("MeetingRequestType")).text = "NewMeetingRequest"
            self._deliver_notice(address, note, now)
        if rows:
            self.store.insert_items(rows)

    def meeting_response(self, ctx: Ctx, kind: str, request: etree._Element, now) -> None:
        ref = request.find(t("ReferenceItemId"))
        row = self.resolve_item(ctx, ref)
        self.refuse_occurrence(row, "Responding to")
        source = parse(row["xml"])
        if local(source) not in ("CalendarItem", "MeetingRequest"):
            raise EWSError("ErrorInvalidReferenceItem", "The item is not a meeting.")
        uid = source.findtext(t("UID"))
        if kind == "CancelCalendarItem":
            return self._cancel(ctx, row, source, now)
        organizer = source.findtext(f"{t('Organizer')}/{t('Mailbox')}/{t('EmailAddress')}") or (
            source.findtext(f"{t('From')}/{t('Mailbox')}/{t('EmailAddress')}")
        )
        if not organizer or organizer.lower() == row["mailbox"]:
            raise EWSError("ErrorInvalidReferenceItem", "The organizer cannot respond.")
        answer = RESPONSES[kind]
        mine = self._calendar_copy(row["mailbox"], uid)
        if mine is not None:
            elem = parse(mine["xml"])
            it.set_child(elem, "MyResponseType", answer)
            it.set_child(elem, "LegacyFreeBusyStatus", "Tentative" if answer == "Tentative"
                         else "Busy")  # fmt: skip
            self._save_elem(mine, elem)
            if answer == "Decline":
                trash = self.store.distinguished_folder(row["mailbox"], "deleteditems")
                self._move(self.store.get_item(mine["id"]), trash, keep_id=True)
        if local(source) == "MeetingRequest":  # answered: the request goes to Deleted Items
            trash = self.store.distinguished_folder(row["mailbox"], "deleteditems")
            self._move(row, trash, keep_id=True)
        organizer = organizer.lower()
        theirs = self._calendar_copy(organizer, uid) if self.store.get_mailbox(organizer) else None
        if theirs is not None:
            elem = parse(theirs["xml"])
            for attendee in elem.iter(t("Attendee")):
                if (attendee.findtext(f"{t('Mailbox')}/{t('EmailAddress')}") or "").lower() == (
                    row["mailbox"]
                ):
                    it.set_child(attendee, "ResponseType", answer)
            self._save_elem(theirs, elem)
            item_class, prefix = _RESPONSE_CLASS[answer]
            subject = prefix + (source.findtext(t("Subject")) or "")
            note = _notice("MeetingResponse", source, item_class, subject, row["mailbox"],
                           organizer)  # fmt: skip
            self._deliver_notice(organizer, note, now)
        return None

    def _cancel(self, ctx: Ctx, row, source: etree._Element, now) -> None:
        uid = source.findtext(t("UID"))
        subject = "Canceled: " + (source.findtext(t("Subject")) or "")
        for address in attendees(source):
            copy_row = (
                self._calendar_copy(address, uid) if self.store.get_mailbox(address) else None
            )
            if copy_row is None or address == row["mailbox"]:
                continue
            elem = parse(copy_row["xml"])
            it.set_child(elem, "IsCancelled", "true")
            it.set_child(elem, "Subject", subject)
            self._save_elem(copy_row, elem)
            note = _notice("MeetingCancellation", source, "IPM.Schedule.Meeting.Canceled",
                           subject, row["mailbox"], address)  # fmt: skip
            self._deliver_notice(address, note, now)
        trash = self.store.distinguished_folder(row["mailbox"], "deleteditems")
        self._move(row, trash, keep_id=True)
