"""Pull notifications through unmodified exchangelib: subscribe, get events, unsubscribe."""

import pytest
from exchangelib import Message
from exchangelib.errors import ErrorSubscriptionNotFound
from exchangelib.properties import CreatedEvent, ModifiedEvent, MovedEvent, NewMailEvent


def _events(folder, sub_id, watermark):
    return [event for note in folder.get_events(sub_id, watermark) for event in note.events]


def test_pull_subscription_reports_changes(account, account_for, new_mailbox):
    inbox = account.inbox
    sub_id, watermark = inbox.subscribe_to_pull()
    quiet = _events(inbox, sub_id, watermark)
    assert [type(e).__name__ for e in quiet] == ["StatusEvent"]

    sender = account_for(new_mailbox("notify")["address"])
    Message(account=sender, folder=sender.sent, subject="ping",
            to_recipients=[account.primary_smtp_address]).send()  # fmt: skip
    notification = _events(inbox, sub_id, quiet[-1].watermark)
    kinds = {type(e) for e in notification}
    assert kinds == {CreatedEvent, NewMailEvent}
    item = inbox.get(subject="ping")
    assert {e.item_id.id for e in notification} == {item.id}

    item.is_read = True
    item.save(update_fields=["is_read"])
    item_id = item.id
    item.move_to_trash()
    later = _events(inbox, sub_id, notification[-1].watermark)
    # Read, then moved to Deleted Items: the change, then one MovedEvent (not a deletion).
    assert [type(e) for e in later] == [ModifiedEvent, MovedEvent]
    assert (later[1].old_item_id.id, later[1].parent_folder_id.id) == (item_id, account.trash.id)
    inbox.unsubscribe(sub_id)
    with pytest.raises(ErrorSubscriptionNotFound):
        _events(inbox, sub_id, watermark)


def test_modified_events(account):
    draft = Message(account=account, folder=account.drafts, subject="v1")
    draft.save()
    sub_id, watermark = account.drafts.subscribe_to_pull()
    draft.subject = "v2"
    draft.save(update_fields=["subject"])
    events = _events(account.drafts, sub_id, watermark)
    assert [type(e) for e in events] == [ModifiedEvent] and events[0].item_id.id == draft.id
