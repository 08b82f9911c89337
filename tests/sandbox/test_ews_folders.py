"""Folder operations through unmodified exchangelib: the root's name, distinguished folders,
ErrorFolderExists, FindFolder restrictions, UpdateFolder (rename), MoveFolder, EmptyFolder."""

import pytest
from exchangelib import Folder, Message
from exchangelib.errors import (
    ErrorFolderExists,
    ErrorFolderNotFound,
)
from exchangelib.folders import Conflicts, FolderCollection, RecoverableItemsPurges, SyncIssues
from exchangelib.folders import known_folders as kf
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
    assert len({f.id for f in account.root.walk()}) == 33  # below root


# (exchangelib folder class, distinguished parent, folder class Exchange gives the folder)
ADDED = [
    (kf.VoiceMail, "searchfolders", "IPF.Note.Microsoft.Voicemail"),
    (kf.ToDoSearch, "searchfolders", "IPF.Task"),
    (kf.Favorites, "searchfolders", "IPF.Note"),
    (kf.IMContactList, "contacts", "IPF.Contact.MOC.ImContactList"),
    (kf.AdminAuditLogs, "root", None),
    (kf.MyContacts, "root", "IPF.Note"),
    (kf.PeopleConnect, "root", None),
    (kf.Directory, "root", None),
    (kf.ConversationHistory, "msgfolderroot", "IPF.Note"),
    (kf.RecipientCache, "contacts", "IPF.Contact.RecipientCache"),
    (kf.QuickContacts, "contacts", "IPF.Contact.MOC.QuickContacts"),
]


@pytest.mark.parametrize(("cls", "parent", "folder_class"), ADDED, ids=lambda v: getattr(
    v, "DISTINGUISHED_FOLDER_ID", str(v)))  # fmt: skip
def test_distinguished_folder_with_its_parent_and_class(account, cls, parent, folder_class):
    folder = _distinguished(account, cls.DISTINGUISHED_FOLDER_ID)
    assert folder.folder_class == folder_class
    if cls.get_folder_allowed:  # exchangelib's own class resolves it too
        assert isinstance(cls.get_distinguished(account.root), cls)
    assert folder.parent_folder_id.id == _distinguished(account, parent).id


def _distinguished(account, name):
    """GetFolder by a distinguished id exchangelib 5.6 has no folder class for."""
    named = type(f"Named_{name}", (Folder,), {"DISTINGUISHED_FOLDER_ID": name})
    return named.get_distinguished(account.root)


def test_discovery_holds_sits_in_recoverable_items(account):
    holds = _distinguished(account, "recoverableitemsdiscoveryholds")
    assert holds.name == "DiscoveryHolds"
    assert holds.parent_folder_id.id == account.recoverable_items_root.id
    assert [f.name for f in account.recoverable_items_root.children if f.id == holds.id] == [
        "DiscoveryHolds"
    ]


def test_archive_folders_answer_folder_not_found_without_an_archive(account):
    with pytest.raises(ErrorFolderNotFound):
        account.archive_root.refresh()
    for cls in (kf.ArchiveInbox, kf.ArchiveMsgFolderRoot, kf.ArchiveDeletedItems,
                kf.ArchiveRecoverableItemsRoot, kf.ArchiveRecoverableItemsPurges):  # fmt: skip
        with pytest.raises(ErrorFolderNotFound):
            cls.get_distinguished(account.root)


def test_public_folders_root_answers_that_no_public_folder_server_exists(account):
    # exchangelib re-raises ErrorNoPublicFolderReplicaAvailable as ErrorFolderNotFound, keeping
    # the server's message.
    with pytest.raises(ErrorFolderNotFound, match="no public folder servers available"):
        account.public_folders_root.refresh()


def test_mailboxes_made_before_a_folder_was_modelled_get_it_when_the_store_opens(tmp_path):
    from connectivity.sandbox.store import DEFAULT_FOLDERS, Store

    store = Store(tmp_path / "state.db")
    store.create_mailbox("old@example.org", "pw")
    todo = store.distinguished_folder("old@example.org", "todosearch")
    with store.tx() as db:
        db.execute("DELETE FROM folders WHERE id = ?", (todo["id"],))
    store.close()
    store = Store(tmp_path / "state.db")
    again = store.distinguished_folder("old@example.org", "todosearch")
    finder = store.distinguished_folder("old@example.org", "searchfolders")
    assert again is not None and again["parent_id"] == finder["id"]
    assert again["id"] != todo["id"]
    count = store._one("SELECT COUNT(*) AS n FROM folders WHERE mailbox = 'old@example.org'")
    assert count["n"] == len(DEFAULT_FOLDERS)
    store.close()


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
