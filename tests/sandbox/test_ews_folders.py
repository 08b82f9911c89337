"""Folder operations through unmodified exchangelib: the root's name, distinguished folders,
ErrorFolderExists, FindFolder restrictions, UpdateFolder (rename), MoveFolder, EmptyFolder."""

import pytest
from exchangelib import Folder, Message
from exchangelib.errors import ErrorFolderExists
from exchangelib.folders import Conflicts, FolderCollection, RecoverableItemsPurges, SyncIssues
from exchangelib.folders.queryset import FolderQuerySet


def test_root_folder_name_and_duplicate_folder_names(account):
    assert account.root.name == "root"
    Folder(parent=account.inbox, name="Projects").save()
    with pytest.raises(ErrorFolderExists):
        Folder(parent=account.inbox, name="projects").save()
    Folder(parent=account.drafts, name="Projects").save()  # another parent is fine
    assert [f.name for f in account.inbox.children] == ["Projects"]


def test_more_distinguished_folders_exist(account):
    assert isinstance(account.sync_issues, SyncIssues)
    assert account.conflicts.parent_folder_id.id == account.sync_issues.id
    assert isinstance(account.conflicts, Conflicts)
    assert isinstance(account.recoverable_items_purges, RecoverableItemsPurges)
    assert len({f.id for f in account.root.walk()}) == 24  # below root


def test_find_folder_restriction_rename_move_and_empty(account):
    a = Folder(parent=account.inbox, name="Alpha")
    a.save()
    b = Folder(parent=account.inbox, name="Beta")
    b.save()
    assert [f.name for f in account.inbox.children if f.name.startswith("Al")] == ["Alpha"]
    assert [f.name for f in account.inbox.glob("Be*")] == ["Beta"]
    # FolderQuerySet.filter sends the restriction with FindFolder.
    below_inbox = FolderQuerySet(FolderCollection(account=account, folders=[account.inbox]))
    assert [f.name for f in below_inbox.filter(name="Beta")] == ["Beta"]
    assert [f.name for f in below_inbox.filter(name__startswith="Al")] == ["Alpha"]
    a.name = "Gamma"
    a.save(update_fields=["name"])
    assert {f.name for f in account.inbox.children} == {"Gamma", "Beta"}
    b.name = "Gamma"
    with pytest.raises(ErrorFolderExists):
        b.save(update_fields=["name"])
    b.refresh()
    b.move(to_folder=account.drafts)
    assert [f.name for f in account.drafts.children] == ["Beta"]
    Message(account=account, folder=a, subject="one").save()
    Message(account=account, folder=a, subject="two").save()
    a.empty(delete_type="MoveToDeletedItems")
    assert not a.all().exists()
    assert {m.subject for m in account.trash.all()} == {"one", "two"}
