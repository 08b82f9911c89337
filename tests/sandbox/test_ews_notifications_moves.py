"""Pull notifications for moved and copied items through unmodified exchangelib: as in Exchange,
one MovedEvent or CopiedEvent (new ItemId and ParentFolderId, OldItemId and OldParentFolderId)
reaches a subscription on either folder, a move to Deleted Items or a soft delete is a
MovedEvent, and a subscription that did not ask for these event types gets none of them."""

from exchangelib import Folder, Message
from exchangelib.properties import (
    CopiedEvent,
    CreatedEvent,
    DeletedEvent,
    ModifiedEvent,
    MovedEvent,
    NewMailEvent,
    StatusEvent,
)
from exchangelib.services import SubscribeToPull
from lxml import etree

from connectivity import ews

from .conftest import soap

TNS = "http://schemas.microsoft.com/exchange/services/2006/types"


def _events(folder, sub_id, watermark):
    return [event for note in folder.get_events(sub_id, watermark) for event in note.events]


def _item_in(account, folder, subject):
    item = Message(account=account, folder=folder, subject=subject)
    item.save()
    return item


def _subfolder(account, name):
    folder = Folder(parent=account.inbox, name=name)
    folder.save()
    return folder


def _as_tuple(event):
    return (type(event), event.item_id.id, event.parent_folder_id.id, event.old_item_id.id,
            event.old_parent_folder_id.id)  # fmt: skip


def test_move_is_one_moved_event_for_either_folder(account):
    inbox, projects = account.inbox, _subfolder(account, "Projects")
    item = _item_in(account, inbox, "to file")
    source = inbox.subscribe_to_pull()
    destination = projects.subscribe_to_pull()
    created_only = inbox.subscribe_to_pull(event_types=["CreatedEvent"])
    old_id = item.id
    item.move(projects)
    assert item.id != old_id  # Exchange gives a moved item a new id
    expected = [(MovedEvent, item.id, projects.id, old_id, inbox.id)]
    assert [_as_tuple(e) for e in _events(inbox, *source)] == expected
    assert [_as_tuple(e) for e in _events(projects, *destination)] == expected
    assert [type(e) for e in _events(inbox, *created_only)] == [StatusEvent]


def test_moved_event_fields_come_in_schema_order(info, account):
    """MovedCopiedEventType: Watermark, TimeStamp, ItemId, ParentFolderId, OldItemId,
    OldParentFolderId (exchangelib reads any order; stricter clients do not)."""
    projects = _subfolder(account, "Archive")
    item = _item_in(account, account.inbox, "ordered")
    sub_id, watermark = account.inbox.subscribe_to_pull()
    item.move(projects)
    token = ews.fetch_token(info["token_url"], info["app_client_id"], info["app_client_secret"],
                            ca_file=info["ca_file"])["access_token"]  # fmt: skip
    body = (f"<m:GetEvents><m:SubscriptionId>{sub_id}</m:SubscriptionId>"
            f"<m:Watermark>{watermark}</m:Watermark></m:GetEvents>")  # fmt: skip
    resp = soap(info, token, body, impersonate=account.primary_smtp_address)
    (moved,) = etree.fromstring(resp.content).iter(f"{{{TNS}}}MovedEvent")
    assert [etree.QName(el).localname for el in moved] == [
        "Watermark", "TimeStamp", "ItemId", "ParentFolderId", "OldItemId", "OldParentFolderId",
    ]  # fmt: skip


def test_copy_is_one_copied_event_for_either_folder(account):
    inbox, projects = account.inbox, _subfolder(account, "Copies")
    item = _item_in(account, inbox, "to copy")
    source = inbox.subscribe_to_pull()
    destination = projects.subscribe_to_pull()
    new_id, _ = item.copy(projects)
    expected = [(CopiedEvent, new_id, projects.id, item.id, inbox.id)]
    assert [_as_tuple(e) for e in _events(inbox, *source)] == expected
    assert [_as_tuple(e) for e in _events(projects, *destination)] == expected
    assert projects.get(id=new_id).subject == "to copy" and inbox.get(id=item.id)


def test_deleting_to_deleted_items_or_the_dumpster_is_a_move(account):
    inbox = account.inbox
    trashed, soft, hard = (_item_in(account, inbox, s) for s in ("trash", "soft", "hard"))
    sub_id, watermark = inbox.subscribe_to_pull()
    everywhere = SubscribeToPull(account=account).get(  # SubscribeToAllFolders
        folders=None, event_types=SubscribeToPull.EVENT_TYPES, watermark=None, timeout=60
    )
    ids = {i.subject: i.id for i in (trashed, soft, hard)}
    trashed.move_to_trash()
    soft.soft_delete()
    hard.delete()
    events = _events(inbox, sub_id, watermark)
    assert [(type(e), e.item_id.id) for e in events] == [
        (MovedEvent, ids["trash"]), (MovedEvent, ids["soft"]), (DeletedEvent, ids["hard"]),
    ]  # fmt: skip
    assert events[0].parent_folder_id.id == account.trash.id
    assert events[1].parent_folder_id.id == account.recoverable_items_deletions.id
    assert {e.old_parent_folder_id.id for e in events[:2]} == {inbox.id}
    # Subscribed to all folders: the dumpster is out of sight, so a soft delete is a deletion
    # there (Exchange 2013 and later); the move to Deleted Items stays a move.
    seen = [(type(e), e.item_id.id) for e in _events(inbox, *everywhere)]
    assert seen[0] == (MovedEvent, ids["trash"])
    assert sorted(seen[1:]) == sorted([(DeletedEvent, ids["soft"]), (DeletedEvent, ids["hard"])])


def test_changes_before_a_move_are_reported_before_it(account):
    inbox, projects = account.inbox, _subfolder(account, "Later")
    seen = _item_in(account, inbox, "known")
    sub_id, watermark = inbox.subscribe_to_pull()
    seen.subject = "renamed"
    seen.save(update_fields=["subject"])
    fresh = _item_in(account, inbox, "new")
    fresh_id, seen_id = fresh.id, seen.id
    seen.move(projects)
    fresh.move(projects)
    events = _events(inbox, sub_id, watermark)
    assert [(type(e), e.item_id.id) for e in events] == [
        (ModifiedEvent, seen_id), (MovedEvent, seen.id),
        (CreatedEvent, fresh_id), (NewMailEvent, fresh_id), (MovedEvent, fresh.id),
    ]  # fmt: skip
    # Nothing more happened: the next poll is quiet.
    quiet = _events(inbox, sub_id, events[-1].watermark)
    assert [type(e) for e in quiet] == [StatusEvent]
