"""Mailbox content search: criteria, one page of matching messages, and folder paths.

A search is one FindItem with a restriction (subject / body contain, sender is, received
between, has attachments) on one folder, newest first, paged by offset. A folder is a
well-known mail folder (inbox, sentitems, drafts, deleteditems, junkemail, outbox,
msgfolderroot) or a path below one, such as ``inbox/Projects/2026``; a path that does not
start with a well-known folder starts at the top of the mailbox (msgfolderroot).
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass

from exchangelib import Q
from exchangelib.folders import (
    DeletedItems,
    Drafts,
    FolderCollection,
    Inbox,
    JunkEmail,
    MsgFolderRoot,
    Outbox,
    SentItems,
)
from exchangelib.folders.queryset import SHALLOW

from connectivity.i18n import N_

from .errors import ews_call, folder_missing
from .props import find_items
from .session import Session
from .specs import in_range, zone

MAIL_FOLDERS = {
    "inbox": Inbox, "sentitems": SentItems, "drafts": Drafts, "deleteditems": DeletedItems,
    "junkemail": JunkEmail, "outbox": Outbox, "msgfolderroot": MsgFolderRoot,
}  # fmt: skip
MAX_PAGE = 250  # Exchange returns at most this many items to a restricted search per page
MAX_SEGMENTS = 10
ADDRESS = re.compile(r"^[^@\s<>()\[\],;:\"\\]+@[A-Za-z0-9](?:[A-Za-z0-9.-]*[A-Za-z0-9])?$")
FIELDS = ("subject", "author", "datetime_received", "has_attachments", "size")


def _one_line(value, label, limit: int = 255) -> str:
    text = "" if value is None else str(value)
    if any(c in text for c in "\r\n\x00"):
        raise ValueError(N_("%(field)s must be one line (line breaks are refused)", field=label))
    if len(text) > limit:
        raise ValueError(N_("%(field)s is longer than %(limit)s characters", field=label,
                            limit=limit))  # fmt: skip
    return text.strip()


def folder_path(value) -> str:
    """A folder path as typed (``inbox``, ``Inbox/Projects``), checked; ValueError with words."""
    text = _one_line(value or "inbox", N_("the folder"), 1024)
    parts = [p.strip() for p in text.strip("/").split("/")]
    if not text.strip("/") or any(not p for p in parts) or len(parts) > MAX_SEGMENTS:
        raise ValueError(N_("the folder must be a path such as inbox or inbox/Projects (at most "
                            "%(n)s names, none empty)", n=MAX_SEGMENTS))  # fmt: skip
    return "/".join(parts)


def _date(value, label) -> dt.date | None:
    if value in (None, ""):
        return None
    if isinstance(value, dt.datetime):
        return in_range(value.date(), label)
    if isinstance(value, dt.date):
        return in_range(value, label)
    try:
        day = dt.date.fromisoformat(str(value).strip())
    except ValueError:
        raise ValueError(N_("%(field)s is not a date (use 2026-12-31)", field=label)) from None
    return in_range(day, label)  # the last day is searched up to the next midnight


def check_address(value, label) -> str:
    text = _one_line(value, label, 320)
    if text and not ADDRESS.match(text):
        raise ValueError(N_("%(field)s is not an e-mail address", field=label))
    return text.lower()


@dataclass
class Criteria:
    subject: str = ""  # contained in the subject (any case)
    body: str = ""  # contained in the body (any case)
    sender: str = ""  # the From address, exactly
    received_from: dt.date | None = None  # first day, inclusive
    received_to: dt.date | None = None  # last day, inclusive
    has_attachments: bool | None = None
    folder: str = "inbox"
    tz: str = "UTC"  # the zone the received days are counted in

    @classmethod
    def from_json(cls, d: dict) -> Criteria:
        if not isinstance(d, dict):
            raise ValueError(N_("the search criteria must be an object"))
        unknown = set(d) - set(cls.__dataclass_fields__)
        if unknown:
            raise ValueError(N_("unknown search criteria: %(names)s",
                                names=", ".join(sorted(map(str, unknown)))))  # fmt: skip
        attachments = d.get("has_attachments")
        if attachments not in (None, "", True, False):
            raise ValueError(N_("has_attachments must be true, false or empty"))
        criteria = cls(
            subject=_one_line(d.get("subject"), N_("the subject")),
            body=_one_line(d.get("body"), N_("the body text")),
            sender=check_address(d.get("sender"), N_("the sender")),
            received_from=_date(d.get("received_from"), N_("the first day")),
            received_to=_date(d.get("received_to"), N_("the last day")),
            has_attachments=None if attachments == "" else attachments,
            folder=folder_path(d.get("folder")), tz=str(d.get("tz") or "UTC"),
        )  # fmt: skip
        zone(criteria.tz)
        if (
            criteria.received_from
            and criteria.received_to
            and (criteria.received_from > criteria.received_to)
        ):
            raise ValueError(N_("the first day is after the last day"))
        return criteria

    def as_json(self) -> dict:
        return {
            "subject": self.subject, "body": self.body, "sender": self.sender,
            "received_from": self.received_from.isoformat() if self.received_from else None,
            "received_to": self.received_to.isoformat() if self.received_to else None,
            "has_attachments": self.has_attachments, "folder": self.folder, "tz": self.tz,
        }  # fmt: skip

    def query(self) -> Q:
        q = Q()
        if self.subject:
            q &= Q(subject__icontains=self.subject)
        if self.body:
            q &= Q(body__icontains=self.body)
        if self.sender:
            q &= Q(author=self.sender)
        tz = zone(self.tz)
        if self.received_from:
            start = dt.datetime.combine(self.received_from, dt.time(0), tz)
            q &= Q(datetime_received__gte=start.astimezone(dt.UTC))
        if self.received_to:
            end = dt.datetime.combine(self.received_to + dt.timedelta(days=1), dt.time(0), tz)
            q &= Q(datetime_received__lt=end.astimezone(dt.UTC))
        if self.has_attachments is not None:
            q &= Q(has_attachments=self.has_attachments)
        return q


@dataclass
class Found:
    item_id: str
    changekey: str
    folder: str
    subject: str
    sender: str
    received: dt.datetime | None
    has_attachments: bool
    size: int

    def as_json(self) -> dict:
        data = dict(self.__dict__)
        data["received"] = self.received.isoformat() if self.received else None
        return data

    @classmethod
    def from_json(cls, d: dict) -> Found:
        received = d.get("received")
        return cls(
            item_id=str(d["item_id"]), changekey=str(d.get("changekey") or ""),
            folder=str(d.get("folder") or ""), subject=str(d.get("subject") or ""),
            sender=str(d.get("sender") or ""),
            received=dt.datetime.fromisoformat(received) if received else None,
            has_attachments=bool(d.get("has_attachments")), size=int(d.get("size") or 0),
        )  # fmt: skip


def resolve_folder(session: Session, account, mailbox: str, path: str):
    """The exchangelib folder at ``path`` in the mailbox (cached in the Session), or
    MailboxError(ErrorFolderNotFound). Call inside ews_call()."""
    key = (mailbox.strip().lower(), path.lower())
    found = session.folders.get(key)
    if found is not None:
        return found
    parts = path.split("/")
    first = parts[0].lower().replace(" ", "")
    if first in MAIL_FOLDERS:
        folder, parts = session.well_known(mailbox, MAIL_FOLDERS[first]), parts[1:]
    else:
        folder = session.well_known(mailbox, MsgFolderRoot)
    for name in parts:
        # One shallow FindFolder per level (not exchangelib's walk of the whole tree).
        children = FolderCollection(account=account, folders=[folder]).find_folders(
            depth=SHALLOW, shape="Default"
        )
        match = [f for f in children if not isinstance(f, Exception)
                 and (f.name or "").lower() == name.lower()]  # fmt: skip
        if not match:
            raise folder_missing(mailbox, path)
        folder = match[0]
    session.folders[key] = folder
    return folder


def _found(item, path: str) -> Found:
    received = item.datetime_received
    return Found(
        item_id=item.id, changekey=item.changekey, folder=path, subject=item.subject or "",
        sender=(item.author.email_address or "").lower() if getattr(item, "author", None) else "",
        received=dt.datetime.fromtimestamp(received.timestamp(), dt.UTC) if received else None,
        has_attachments=bool(item.has_attachments), size=int(item.size or 0),
    )  # fmt: skip


def search(
    session: Session, mailbox: str, criteria: Criteria, offset: int, limit: int
) -> tuple[list[Found], bool]:
    """One page of messages matching ``criteria`` (newest first) and whether more follow."""
    limit = max(1, min(int(limit), MAX_PAGE))
    offset = max(0, int(offset))
    with ews_call(mailbox):
        account = session.account(mailbox)
        folder = resolve_folder(session, account, mailbox, criteria.folder)
        items = find_items(folder, criteria.query(), list(FIELDS), size=limit + 1,
                           offset=offset, order="-datetime_received")  # fmt: skip
    page = [_found(item, criteria.folder) for item in items[:limit]]
    return page, len(items) > limit
