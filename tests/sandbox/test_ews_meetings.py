"""Meetings through unmodified exchangelib: invitations, accept/decline responses recorded on the
organizer's item, and cancellation."""

import datetime

from exchangelib import CalendarItem, EWSDateTime
from exchangelib.items import SEND_TO_ALL_AND_SAVE_COPY, MeetingCancellation, MeetingRequest


def test_invite_accept_decline_and_cancel(account_for, new_mailbox):
    org, bob, carol = (new_mailbox(p)["address"] for p in ("org", "bob", "carol"))
    organizer = account_for(org)
    start = EWSDateTime(2026, 12, 9, 14, 0, tzinfo=organizer.default_timezone)
    meeting = CalendarItem(account=organizer, folder=organizer.calendar, subject="Review",
                           start=start, end=start + datetime.timedelta(hours=1),
                           required_attendees=[bob, carol])  # fmt: skip
    meeting.save(send_meeting_invitations=SEND_TO_ALL_AND_SAVE_COPY)
    assert organizer.calendar.get(id=meeting.id).is_meeting is True

    bob_account, carol_account = account_for(bob), account_for(carol)
    (request,) = bob_account.inbox.all()
    assert isinstance(request, MeetingRequest) and request.subject == "Review"
    assert bob_account.calendar.get(subject="Review").my_response_type == "NoResponseReceived"
    request.accept(body="see you")
    assert bob_account.calendar.get(subject="Review").my_response_type == "Accept"
    assert not bob_account.inbox.filter(subject="Review").exists()

    carol_account.calendar.get(subject="Review").decline()
    assert not carol_account.calendar.filter(subject="Review").exists()

    mine = organizer.calendar.get(id=meeting.id)
    answers = {a.mailbox.email_address: a.response_type for a in mine.required_attendees}
    assert answers == {bob: "Accept", carol: "Decline"}
    assert {m.subject for m in organizer.inbox.all()} == {"Accepted: Review", "Declined: Review"}

    mine.cancel()
    assert not organizer.calendar.filter(subject="Review").exists()
    bob_copy = bob_account.calendar.get(subject="Canceled: Review")
    assert bob_copy.is_cancelled is True
    notices = [m for m in bob_account.inbox.all() if isinstance(m, MeetingCancellation)]
    assert [n.subject for n in notices] == ["Canceled: Review"]
