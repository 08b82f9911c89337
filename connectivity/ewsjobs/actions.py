"""Content rules: act on messages a search found, one bulk request per kind of change.

Every action can be run again on the same messages without doing it twice: a category
already present, a flag already set or a message already in the target folder is reported as
``existed``; a forward is recorded on the original message (InteropPortalForwardedTo) after it
was sent, so a rerun skips messages already forwarded to that address. (A worker killed
between sending and recording can still forward one batch twice: sending and recording cannot
be one step in EWS.)
"""

from __future__ import annotations

import contextlib
from dataclasses import dataclass

from exchangelib import Mailbox
from exchangelib.folders import Folder, Root, SentItems
from exchangelib.items import (
    ALL_OCCURRENCES,
    AUTO_RESOLVE,
    ID_ONLY,
    MOVE_TO_DELETED_ITEMS,
    SAVE_ONLY,
    SEND_AND_SAVE_COPY,
    SEND_TO_NONE,
)
from exchangelib.items.message import ForwardItem
from exchangelib.properties import ReferenceItemId

from connectivity.i18n import N_

from .errors import ews_call, explain, raise_for_results
from .props import (
    FLAG_FIELD,
    FLAGGED,
    FORWARDED_FIELD,
    ICON_FIELD,
    RED_FLAG,
    CreateItems,
    DeleteItems,
    GetItems,
    MoveItems,
    UpdateItems,
    one_request,
)
from .publish import DONE, EXISTED, FAILED, ItemOutcome
from .search import Found, check_address, folder_path, resolve_folder
from .session import Session
from .specs import CATEGORY_MAX

KINDS = ("categorize", "flag", "move", "forward", "delete")


@dataclass
class Action:
    kind: str  # categorize | flag | move | forward | delete (delete = move to Deleted Items)
    category: str = ""
    folder: str = ""
    forward_to: str = ""

    @classmethod
    def from_json(cls, d: dict) -> Action:
        if not isinstance(d, dict) or d.get("kind") not in KINDS:
            raise ValueError(N_("the action must be one of: %(kinds)s", kinds=", ".join(KINDS)))
        kind = d["kind"]
        action = cls(kind=kind)
        if kind == "categorize":
            category = str(d.get("category") or "")
            if any(c in category for c in "\r\n\x00,;"):
                raise ValueError(N_("the category must be one name on one line (no , or ;)"))
            action.category = category.strip()
            if not action.category or len(action.category) > CATEGORY_MAX:
                raise ValueError(N_("the category is missing or longer than %(n)s characters",
                                    n=CATEGORY_MAX))  # fmt: skip
        elif kind == "move":
            if not d.get("folder"):
                raise ValueError(N_("the folder to move messages to is missing"))
            action.folder = folder_path(d.get("folder"))
        elif kind == "forward":
            action.forward_to = check_address(d.get("forward_to"), N_("the forwarding address"))
            if not action.forward_to:
                raise ValueError(N_("the forwarding address is missing"))
        return action

    def as_json(self) -> dict:
        return {"kind": self.kind, "category": self.category, "folder": self.folder,
                "forward_to": self.forward_to}  # fmt: skip

    def describe(self) -> str:
        """What the action does, in words (for a dry run's list)."""
        return {
            "categorize": N_("add the category %(name)s", name=self.category),
            "flag": N_("flag for follow-up"),
            "move": N_("move to %(folder)s", folder=self.folder),
            "forward": N_("forward to %(address)s", address=self.forward_to),
            "delete": N_("move to Deleted Items"),
        }[self.kind]


def _fields(account, names: list[str]):
    folder = Folder(root=Root(account=account))  # only to name the fields: no request
    return {f for f in folder.normalize_fields(fields=names) if not f.field.is_attribute}


def _fetch(account, found: list[Found], names: list[str]) -> list:
    ids = [(f.item_id, f.changekey or None) for f in found]
    return one_request(GetItems, account, len(ids), items=ids,
                       additional_fields=_fields(account, names), shape=ID_ONLY)  # fmt: skip


def _update(account, changes: list[tuple]) -> list:
    return one_request(
        UpdateItems, account, len(changes), items=changes, conflict_resolution=AUTO_RESOLVE,
        message_disposition=SAVE_ONLY, send_meeting_invitations_or_cancellations=SEND_TO_NONE,
        suppress_read_receipts=True,
    )  # fmt: skip


class _Outcomes:
    def __init__(self, found: list[Found]):
        self.found = found
        self.by_position: dict[int, ItemOutcome] = {}

    def set(self, position: int, status: str, error: str = "") -> None:
        self.by_position[position] = ItemOutcome(position, self.found[position].item_id, status,
                                                 error)  # fmt: skip

    def apply(self, positions: list[int], results: list, mailbox: str) -> None:
        """Outcomes of one bulk request sent for ``positions`` (in order)."""
        if len(results) != len(positions):
            raise RuntimeError(f"Exchange answered {len(results)} results for {len(positions)}")
        raise_for_results(results, mailbox)
        for position, result in zip(positions, results, strict=True):
            if isinstance(result, BaseException):
                self.set(position, FAILED, explain(result))
            else:
                self.set(position, DONE)

    def result(self) -> list[ItemOutcome]:
        return [self.by_position[p] for p in range(len(self.found))]


def _change_fields(account, found, out: _Outcomes, mailbox: str, names, change) -> None:
    """Fetch ``names``, let ``change(item)`` set them (False: nothing to do), update the rest."""
    fetched = _fetch(account, found, names)
    raise_for_results(fetched, mailbox)
    changes, positions = [], []
    for position, item in enumerate(fetched):
        if isinstance(item, BaseException):
            out.set(position, FAILED, explain(item))
        elif not change(item):
            out.set(position, EXISTED)
        else:
            changes.append((item, names))
            positions.append(position)
    out.apply(positions, _update(account, changes), mailbox)


def _categorize(item, category: str) -> bool:
    present = list(item.categories or [])
    if category.lower() in (c.lower() for c in present):
        return False
    item.categories = [*present, category]
    return True


def _flag(item) -> bool:
    if getattr(item, FLAG_FIELD, None) == FLAGGED:
        return False
    setattr(item, FLAG_FIELD, FLAGGED)
    setattr(item, ICON_FIELD, RED_FLAG)
    return True


def _forward(session, account, found, out: _Outcomes, mailbox: str, address: str) -> None:
    fetched = _fetch(account, found, [FORWARDED_FIELD])
    raise_for_results(fetched, mailbox)
    todo, positions = [], []
    for position, item in enumerate(fetched):
        if isinstance(item, BaseException):
            out.set(position, FAILED, explain(item))
        elif address in [a.lower() for a in getattr(item, FORWARDED_FIELD, None) or []]:
            out.set(position, EXISTED)
        else:
            todo.append(item)
            positions.append(position)
    forwards = [
        ForwardItem(
            account=account,
            to_recipients=[Mailbox(email_address=address)],
            reference_item_id=ReferenceItemId(id=i.id, changekey=i.changekey),
        )  # fmt: skip
        for i in todo
    ]
    sent_items = session.well_known(mailbox, SentItems)
    sent = one_request(CreateItems, account, len(forwards), items=forwards, folder=sent_items,
                       message_disposition=SEND_AND_SAVE_COPY,
                       send_meeting_invitations=SEND_TO_NONE)  # fmt: skip
    out.apply(positions, sent, mailbox)
    marks = []
    for item, result in zip(todo, sent, strict=True):
        if not isinstance(result, BaseException):
            setattr(item, FORWARDED_FIELD, [*(getattr(item, FORWARDED_FIELD, None) or []), address])
            marks.append((item, [FORWARDED_FIELD]))
    # The forwards were sent: they are done whatever happens to the marks; a missing mark only
    # weakens the protection against a second forward on a rerun.
    with contextlib.suppress(Exception):
        _update(account, marks)


def check_action(session: Session, mailbox: str, action: Action) -> None:
    """What a dry run can see of the real run's needs: a move's destination folder exists.
    Raises MailboxError(ErrorFolderNotFound) in words, as the real run would, so a dry run
    does not promise changes its real run can only fail to make."""
    if action.kind != "move":
        return
    with ews_call(mailbox):
        resolve_folder(session, session.account(mailbox), mailbox, action.folder)


def apply_action(
    session: Session, mailbox: str, found: list[Found], action: Action
) -> list[ItemOutcome]:
    """Apply ``action`` to ``found`` (messages of one mailbox); one outcome per message, its
    index being the position in ``found`` and its key the item id. Raises Busy / MailboxError
    (for example MailboxError(ErrorFolderNotFound) when the target folder does not exist)."""
    out = _Outcomes(found)
    if not found:
        return []
    with ews_call(mailbox):
        account = session.account(mailbox)
        if action.kind == "categorize":
            _change_fields(account, found, out, mailbox, ["categories"],
                           lambda item: _categorize(item, action.category))  # fmt: skip
        elif action.kind == "flag":
            _change_fields(account, found, out, mailbox, [FLAG_FIELD, ICON_FIELD], _flag)
        elif action.kind == "move":
            target = resolve_folder(session, account, mailbox, action.folder)
            here = action.folder.lower()
            positions = [p for p, f in enumerate(found) if f.folder.lower() != here]
            for p in set(range(len(found))) - set(positions):
                out.set(p, EXISTED)
            ids = [(found[p].item_id, found[p].changekey or None) for p in positions]
            out.apply(positions, one_request(MoveItems, account, len(ids), items=ids,
                                             to_folder=target), mailbox)  # fmt: skip
        elif action.kind == "delete":
            positions = [p for p, f in enumerate(found) if f.folder.lower() != "deleteditems"]
            for p in set(range(len(found))) - set(positions):
                out.set(p, EXISTED)  # deleting again would purge it, not move it
            ids = [(found[p].item_id, found[p].changekey or None) for p in positions]
            results = one_request(
                DeleteItems, account, len(ids), items=ids, delete_type=MOVE_TO_DELETED_ITEMS,
                send_meeting_cancellations=SEND_TO_NONE,
                affected_task_occurrences=ALL_OCCURRENCES, suppress_read_receipts=True,
            )  # fmt: skip
            out.apply(positions, results, mailbox)
        elif action.kind == "forward":
            _forward(session, account, found, out, mailbox, action.forward_to)
        else:
            raise ValueError(f"unknown action {action.kind!r}")
    return out.result()
