"""SQLite persistence for the sandbox: tenant settings, applications, grants, mailboxes,
folders and items.

Items are stored as their EWS XML element (bytes) plus a few indexed columns that FindItem
restrictions, sorting and paging use. The XML is owned by :mod:`connectivity.sandbox.ews`;
this module only stores and queries it.
"""

from __future__ import annotations

import base64
import json
import os
import sqlite3
import threading
import uuid
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT);
CREATE TABLE IF NOT EXISTS apps (
    client_id TEXT PRIMARY KEY, secret TEXT NOT NULL, name TEXT NOT NULL, created TEXT
);
CREATE TABLE IF NOT EXISTS grants (
    principal TEXT PRIMARY KEY, scope TEXT NOT NULL, targets TEXT NOT NULL DEFAULT '[]'
);
CREATE TABLE IF NOT EXISTS mailboxes (
    address TEXT PRIMARY KEY, display_name TEXT, password TEXT NOT NULL,
    ews_enabled INTEGER, groups TEXT NOT NULL DEFAULT '[]', oof TEXT
);
CREATE TABLE IF NOT EXISTS folders (
    id TEXT PRIMARY KEY, mailbox TEXT NOT NULL, parent_id TEXT, distinguished TEXT,
    display_name TEXT NOT NULL, folder_class TEXT, element TEXT NOT NULL DEFAULT 'Folder',
    change_key TEXT NOT NULL
);
CREATE UNIQUE INDEX IF NOT EXISTS folders_dist ON folders (mailbox, distinguished);
CREATE TABLE IF NOT EXISTS items (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    id TEXT UNIQUE NOT NULL, change_key TEXT NOT NULL, mailbox TEXT NOT NULL,
    folder_id TEXT NOT NULL, element TEXT NOT NULL, item_class TEXT, subject TEXT,
    body TEXT, sender TEXT, received TEXT, categories TEXT, start TEXT, "end" TEXT,
    is_read INTEGER, xml BLOB NOT NULL
);
CREATE INDEX IF NOT EXISTS items_folder ON items (folder_id, received);
"""

# (distinguished id, parent, display name, folder class, EWS element)
DEFAULT_FOLDERS = (
    ("root", None, "root", None, "Folder"),
    ("msgfolderroot", "root", "Top of Information Store", "IPF.Note", "Folder"),
    ("inbox", "msgfolderroot", "Inbox", "IPF.Note", "Folder"),
    ("drafts", "msgfolderroot", "Drafts", "IPF.Note", "Folder"),
    ("sentitems", "msgfolderroot", "Sent Items", "IPF.Note", "Folder"),
    ("deleteditems", "msgfolderroot", "Deleted Items", "IPF.Note", "Folder"),
    ("outbox", "msgfolderroot", "Outbox", "IPF.Note", "Folder"),
    ("junkemail", "msgfolderroot", "Junk Email", "IPF.Note", "Folder"),
    ("calendar", "msgfolderroot", "Calendar", "IPF.Appointment", "CalendarFolder"),
    ("contacts", "msgfolderroot", "Contacts", "IPF.Contact", "ContactsFolder"),
    ("tasks", "msgfolderroot", "Tasks", "IPF.Task", "TasksFolder"),
    ("conversationhistory", "msgfolderroot", "Conversation History", "IPF.Note", "Folder"),
    ("journal", "msgfolderroot", "Journal", "IPF.Journal", "Folder"),
    ("notes", "msgfolderroot", "Notes", "IPF.StickyNote", "Folder"),
    ("syncissues", "msgfolderroot", "Sync Issues", "IPF.Note", "Folder"),
    ("conflicts", "syncissues", "Conflicts", "IPF.Note", "Folder"),
    ("localfailures", "syncissues", "Local Failures", "IPF.Note", "Folder"),
    ("serverfailures", "syncissues", "Server Failures", "IPF.Note", "Folder"),
    ("recipientcache", "contacts", "Recipient Cache", "IPF.Contact.RecipientCache",
     "ContactsFolder"),
    ("quickcontacts", "contacts", "Quick Contacts", "IPF.Contact.MOC.QuickContacts",
     "ContactsFolder"),
    ("searchfolders", "root", "Finder", None, "Folder"),
    ("recoverableitemsroot", "root", "Recoverable Items", None, "Folder"),
    ("recoverableitemsdeletions", "recoverableitemsroot", "Deletions", None, "Folder"),
    ("recoverableitemspurges", "recoverableitemsroot", "Purges", None, "Folder"),
    ("recoverableitemsversions", "recoverableitemsroot", "Versions", None, "Folder"),
    ("recoverableitemsdiscoveryholds", "recoverableitemsroot", "DiscoveryHolds", None, "Folder"),
    ("voicemail", "searchfolders", "Voice Mail", "IPF.Note.Microsoft.Voicemail", "SearchFolder"),
    ("todosearch", "searchfolders", "To-Do Search", "IPF.Task", "SearchFolder"),
    ("favorites", "searchfolders", "Favorites", "IPF.Note", "SearchFolder"),
    ("imcontactlist", "contacts", "Skype for Business Contacts", "IPF.Contact.MOC.ImContactList",
     "ContactsFolder"),
    ("adminauditlogs", "root", "AdminAuditLogs", None, "Folder"),
    ("mycontacts", "root", "MyContacts", "IPF.Note", "Folder"),
    ("peopleconnect", "root", "PeopleConnect", None, "Folder"),
    ("directory", "root", "Directory", None, "Folder"),
)  # fmt: skip
# Distinguished ids of folders the sandbox's mailboxes do not have: no mailbox has an online
# archive (Exchange answers ErrorFolderNotFound for these then) and the organisation has no
# public folder mailbox (ErrorNoPublicFolderReplicaAvailable).
ARCHIVE_FOLDERS = frozenset({
    "archiveroot", "archivemsgfolderroot", "archivedeleteditems", "archiveinbox",
    "archiverecoverableitemsroot", "archiverecoverableitemsdeletions",
    "archiverecoverableitemsversions", "archiverecoverableitemspurges",
    "archiverecoverableitemsdiscoveryholds",
})  # fmt: skip
PUBLIC_FOLDERS = frozenset({"publicfoldersroot"})

ITEM_COLUMNS = (
    "element",
    "item_class",
    "subject",
    "body",
    "sender",
    "received",
    "categories",
    "start",
    "end",
    "is_read",
)


def new_id(kind: bytes) -> str:
    """An opaque, EWS-looking identifier (base64, like Exchange's)."""
    return base64.b64encode(kind + uuid.uuid4().bytes + b"\x00" * 7).decode()


def new_change_key() -> str:
    return base64.b64encode(b"CQAAABYAAA" + os.urandom(9)).decode()


class Store:
    """Thread-safe wrapper around one SQLite connection (the sandbox is a test double, so a
    single writer lock is plenty)."""

    def __init__(self, path: Path):
        self.path = Path(path)
        self._db = sqlite3.connect(self.path, check_same_thread=False, isolation_level=None)
        self._db.row_factory = sqlite3.Row
        self._lock = threading.RLock()
        with self._lock:
            self._db.execute("PRAGMA journal_mode=WAL")
            self._db.execute("PRAGMA synchronous=NORMAL")
            self._db.executescript(SCHEMA)
            columns = {r["name"] for r in self._db.execute("PRAGMA table_info(apps)")}
            if "certificate" not in columns:  # data folders from before certificate credentials
                self._db.execute("ALTER TABLE apps ADD COLUMN certificate TEXT")
        with self.tx() as db:  # mailboxes made before a distinguished folder was modelled
            for row in db.execute("SELECT address FROM mailboxes").fetchall():
                _add_default_folders(db, row["address"])

    def close(self) -> None:
        with self._lock:
            self._db.close()

    @contextmanager
    def tx(self) -> Iterator[sqlite3.Connection]:
        with self._lock:
            self._db.execute("BEGIN IMMEDIATE")
            try:
                yield self._db
            except BaseException:
                self._db.execute("ROLLBACK")
                raise
            self._db.execute("COMMIT")

    def _one(self, sql: str, args: Iterable[Any] = ()) -> sqlite3.Row | None:
        with self._lock:
            return self._db.execute(sql, tuple(args)).fetchone()

    def _all(self, sql: str, args: Iterable[Any] = ()) -> list[sqlite3.Row]:
        with self._lock:
            return self._db.execute(sql, tuple(args)).fetchall()

    # --- tenant settings -------------------------------------------------------------------
    def get_meta(self, key: str, default: Any = None) -> Any:
        row = self._one("SELECT value FROM meta WHERE key = ?", (key,))
        return default if row is None else json.loads(row["value"])

    def set_meta(self, key: str, value: Any) -> None:
        with self.tx() as db:
            db.execute(
                "INSERT INTO meta (key, value) VALUES (?, ?) "
                "ON CONFLICT(key) DO UPDATE SET value = excluded.value",
                (key, json.dumps(value)),
            )

    # --- applications and grants -----------------------------------------------------------
    def create_app(self, client_id: str, secret: str, name: str) -> None:
        with self.tx() as db:
            db.execute(
                "INSERT INTO apps (client_id, secret, name, created) "
                "VALUES (?, ?, ?, datetime('now'))",
                (client_id, secret, name),
            )

    def set_app_certificate(self, client_id: str, pem: str | None) -> None:
        with self.tx() as db:
            db.execute("UPDATE apps SET certificate = ? WHERE client_id = ?", (pem, client_id))

    def get_app(self, client_id: str) -> sqlite3.Row | None:
        return self._one("SELECT * FROM apps WHERE client_id = ?", (client_id,))

    def find_app_by_name(self, name: str) -> sqlite3.Row | None:
        return self._one("SELECT * FROM apps WHERE name = ? ORDER BY created LIMIT 1", (name,))

    def list_apps(self) -> list[sqlite3.Row]:
        return self._all("SELECT * FROM apps ORDER BY created, client_id")

    def set_grant(self, principal: str, scope: str, targets: Iterable[str] = ()) -> None:
        if scope not in ("all", "list", "group", "none"):
            raise ValueError(f"unknown grant scope {scope!r}")
        with self.tx() as db:
            db.execute(
                "INSERT INTO grants (principal, scope, targets) VALUES (?, ?, ?) "
                "ON CONFLICT(principal) DO UPDATE SET scope = excluded.scope, "
                "targets = excluded.targets",
                (principal.lower(), scope, json.dumps([t.lower() for t in targets])),
            )

    def get_grant(self, principal: str) -> tuple[str, list[str]]:
        row = self._one("SELECT * FROM grants WHERE principal = ?", (principal.lower(),))
        if row is None:
            return "none", []
        return row["scope"], json.loads(row["targets"])

    # --- mailboxes and folders -------------------------------------------------------------
    def create_mailbox(
        self, address: str, password: str, display_name: str | None = None, groups=()
    ) -> None:
        address = address.lower()
        with self.tx() as db:
            db.execute(
                "INSERT INTO mailboxes (address, display_name, password, groups) "
                "VALUES (?, ?, ?, ?)",
                (address, display_name or address.split("@")[0], password, json.dumps(groups)),
            )
            _add_default_folders(db, address)

    def get_mailbox(self, address: str) -> sqlite3.Row | None:
        return self._one("SELECT * FROM mailboxes WHERE address = ?", (address.lower(),))

    def list_mailboxes(self) -> list[sqlite3.Row]:
        return self._all("SELECT * FROM mailboxes ORDER BY address")

    def update_mailbox(self, address: str, **fields: Any) -> None:
        allowed = {"password", "display_name", "ews_enabled", "groups", "oof"}
        if not fields or set(fields) - allowed:
            raise ValueError(f"can only update {sorted(allowed)}")
        values = [json.dumps(v) if k == "groups" else v for k, v in fields.items()]
        sets = ", ".join(f"{k} = ?" for k in fields)
        with self.tx() as db:
            db.execute(f"UPDATE mailboxes SET {sets} WHERE address = ?", (*values, address.lower()))  # noqa: S608

    def folder(self, folder_id: str) -> sqlite3.Row | None:
        return self._one("SELECT * FROM folders WHERE id = ?", (folder_id,))

    def distinguished_folder(self, mailbox: str, name: str) -> sqlite3.Row | None:
        return self._one(
            "SELECT * FROM folders WHERE mailbox = ? AND distinguished = ?",
            (mailbox.lower(), name.lower()),
        )

    def child_folders(self, folder_id: str, deep: bool = False) -> list[sqlite3.Row]:
        rows = self._all(
            "SELECT * FROM folders WHERE parent_id = ? ORDER BY display_name", (folder_id,)
        )
        if not deep:
            return rows
        out: list[sqlite3.Row] = []
        for row in rows:
            out.append(row)
            out.extend(self.child_folders(row["id"], deep=True))
        return out

    def create_folder(
        self, mailbox: str, parent_id: str, name: str, folder_class: str | None, element: str
    ) -> str:
        fid = new_id(b"\x02")
        with self.tx() as db:
            db.execute(
                "INSERT INTO folders (id, mailbox, parent_id, display_name, folder_class, "
                "element, change_key) VALUES (?, ?, ?, ?, ?, ?, ?)",
                (fid, mailbox.lower(), parent_id, name, folder_class, element, new_change_key()),
            )
        return fid

    def update_folder(self, folder_id: str, **fields: Any) -> str:
        """Rename or re-parent a folder; returns its new change key."""
        if set(fields) - {"display_name", "parent_id"}:
            raise ValueError("can only update display_name and parent_id")
        fields["change_key"] = new_change_key()
        sets = ", ".join(f"{k} = ?" for k in fields)
        with self.tx() as db:
            db.execute(f"UPDATE folders SET {sets} WHERE id = ?", (*fields.values(), folder_id))  # noqa: S608
        return fields["change_key"]

    def delete_folder(self, folder_id: str) -> None:
        with self.tx() as db:
            for child in self.child_folders(folder_id, deep=True) + [self.folder(folder_id)]:
                db.execute("DELETE FROM items WHERE folder_id = ?", (child["id"],))
                db.execute("DELETE FROM folders WHERE id = ?", (child["id"],))

    def folder_counts(self, folder_id: str) -> tuple[int, int, int]:
        """(total items, unread items, child folders)."""
        row = self._one(
            "SELECT COUNT(*) AS total, SUM(CASE WHEN is_read = 0 THEN 1 ELSE 0 END) AS unread "
            "FROM items WHERE folder_id = ?",
            (folder_id,),
        )
        children = self._one("SELECT COUNT(*) AS n FROM folders WHERE parent_id = ?", (folder_id,))
        return row["total"], row["unread"] or 0, children["n"]

    # --- items -----------------------------------------------------------------------------
    def insert_items(self, rows: Iterable[dict[str, Any]]) -> None:
        """Insert many items in one transaction; each row has id, change_key, mailbox,
        folder_id, xml and the ITEM_COLUMNS."""
        cols = ("id", "change_key", "mailbox", "folder_id", "xml", *ITEM_COLUMNS)
        sql = (
            f"INSERT INTO items ({', '.join(_q(c) for c in cols)}) "  # noqa: S608
            f"VALUES ({', '.join('?' for _ in cols)})"
        )
        with self.tx() as db:
            db.executemany(sql, ([row.get(c) for c in cols] for row in rows))

    def get_item(self, item_id: str) -> sqlite3.Row | None:
        return self._one("SELECT * FROM items WHERE id = ?", (item_id,))

    def update_item(self, item_id: str, **fields: Any) -> None:
        sets = ", ".join(f"{_q(k)} = ?" for k in fields)
        with self.tx() as db:
            db.execute(f"UPDATE items SET {sets} WHERE id = ?", (*fields.values(), item_id))  # noqa: S608

    def delete_item(self, item_id: str) -> None:
        with self.tx() as db:
            db.execute("DELETE FROM items WHERE id = ?", (item_id,))

    def folder_items(self, folder_id: str) -> list[sqlite3.Row]:
        """Index columns (no XML) of a folder's items, newest first."""
        cols = ", ".join(_q(c) for c in ITEM_COLUMNS)
        return self._all(
            f"SELECT seq, id, change_key, mailbox, folder_id, {cols} FROM items "  # noqa: S608
            "WHERE folder_id = ? ORDER BY received DESC, seq DESC",
            (folder_id,),
        )

    def items_xml(self, item_ids: list[str]) -> dict[str, bytes]:
        out: dict[str, bytes] = {}
        for start in range(0, len(item_ids), 500):
            chunk = item_ids[start : start + 500]
            marks = ", ".join("?" for _ in chunk)
            for row in self._all(f"SELECT id, xml FROM items WHERE id IN ({marks})", chunk):  # noqa: S608
                out[row["id"]] = row["xml"]
        return out

    def calendar_items(self, mailbox: str, start: str, end: str) -> list[sqlite3.Row]:
        return self._all(
            "SELECT * FROM items WHERE mailbox = ? AND element = 'CalendarItem' "
            'AND start < ? AND "end" > ? ORDER BY start',
            (mailbox.lower(), end, start),
        )

    def count_items(self) -> int:
        return self._one("SELECT COUNT(*) AS n FROM items")["n"]


def _add_default_folders(db: sqlite3.Connection, address: str) -> None:
    """Create the distinguished folders `address` does not have yet (parents come first)."""
    rows = db.execute(
        "SELECT distinguished, id FROM folders WHERE mailbox = ? AND distinguished IS NOT NULL",
        (address,),
    ).fetchall()
    ids = {r["distinguished"]: r["id"] for r in rows}
    for dist, parent, name, cls, element in DEFAULT_FOLDERS:
        if dist in ids:
            continue
        ids[dist] = new_id(b"\x02")
        db.execute(
            "INSERT INTO folders (id, mailbox, parent_id, distinguished, display_name, "
            "folder_class, element, change_key) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
            (ids[dist], address, ids.get(parent), dist, name, cls, element, new_change_key()),
        )


def _q(column: str) -> str:
    return f'"{column}"'
