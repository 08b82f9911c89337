"""Synchronization through unmodified exchangelib: SyncFolderItems (create, update, delete,
paging by MaxChangesReturned) and SyncFolderHierarchy."""

import pytest
from exchangelib import Folder, Message
from exchangelib.errors import ErrorInvalidSyncStateData


def _changes(folder, **kwargs):
    return [(kind, getattr(item, "subject", None) or item.id)
            for kind, item in folder.sync_items(**kwargs)]  # fmt: skip


def test_sync_folder_items_reports_creates_updates_and_deletes(account):
    inbox = account.inbox
    first = Message(account=account, folder=inbox, subject="first")
    first.save()
    Message(account=account, folder=inbox, subject="second").save()
    assert sorted(_changes(inbox)) == [("create", "first"), ("create", "second")]
    assert _changes(inbox) == []  # nothing new since the saved state
    first.subject = "first, edited"
    first.save(update_fields=["subject"])
    assert _changes(inbox) == [("update", "first, edited")]
    gone_id = first.id
    first.delete()
    changes = list(inbox.sync_items())
    assert [(kind, item.id) for kind, item in changes] == [("delete", gone_id)]


def test_sync_folder_items_pages_with_max_changes(account):
    for i in range(5):
        Message(account=account, folder=account.drafts, subject=f"m{i}").save()
    seen = _changes(account.drafts, max_changes_returned=2)
    assert len(seen) == 5  # exchangelib keeps asking while IncludesLastItemInRange is false


def test_sync_folder_hierarchy_and_a_corrupt_state(account):
    changes = list(account.msg_folder_root.sync_hierarchy())
    assert {"Inbox", "Calendar", "Sent Items"} <= {
        f.name for kind, f in changes if kind == "create"
    }
    Folder(parent=account.inbox, name="Synced").save()
    assert [(k, f.name) for k, f in account.msg_folder_root.sync_hierarchy()] == [
        ("create", "Synced")
    ]
    with pytest.raises(ErrorInvalidSyncStateData):
        list(account.inbox.sync_items(sync_state="bm90IGEgc3RhdGU="))
