"""Pull notifications: Subscribe (PullSubscriptionRequest), GetEvents and Unsubscribe.

A subscription remembers the items of its folders (ids and change keys) when it was made or
last polled, and every move or copy of an item in its mailbox since then. GetEvents answers, as
Exchange does, one MovedEvent (MoveItem, MarkAsJunk, DeleteItem's MoveToDeletedItems and
SoftDelete, a sent draft going to Sent Items) or CopiedEvent (CopyItem) with the new ItemId and
ParentFolderId and the OldItemId and OldParentFolderId, to a subscription that watches either
folder; then the remaining differences as CreatedEvent, ModifiedEvent, DeletedEvent (and
NewMailEvent for new mail in the Inbox), or a StatusEvent when nothing happened. Only the event
types asked for are sent. A SubscribeToAllFolders subscription does not see the Recoverable Items
dumpster, so a soft-deleted item is a DeletedEvent there, as in Exchange 2013 and later; a move
to Deleted Items is a MovedEvent there too (Exchange 2010's answer: later versions report it
through their AllItems search folder, which the sandbox does not have). Items moved to another
mailbox are deleted in one and created in the other. Folder events are not reported.
Subscriptions live in memory, like Exchange's, and are gone after a restart
(ErrorSubscriptionNotFound). Push and streaming subscriptions are not modelled
(ErrorInvalidRequest / ErrorInvalidSubscriptionRequest).
"""

from __future__ import annotations

import base64
import threading
import uuid
from dataclasses import dataclass, field

from .. import items as it
from ..soap import EWSError, m, operation_response, response_message, sub, t
from .base import Base, Ctx

ALL_EVENTS = {"CopiedEvent", "CreatedEvent", "DeletedEvent", "ModifiedEvent", "MovedEvent",
              "NewMailEvent", "FreeBusyChangedEvent"}  # fmt: skip


@dataclass(frozen=True)
class Relocation:
    """One move or copy of an item, as the mailbox's event table records it."""

    kind: str  # MovedEvent or CopiedEvent
    old_id: str
    old_key: str
    old_folder: str
    new_id: str
    new_key: str
    new_folder: str


@dataclass
class Subscription:
    mailbox: str
    folder_ids: list[str] | None  # None: every folder of the mailbox
    events: set[str]
    seen: dict[str, tuple[str, str]] = field(default_factory=dict)  # item -> (ck, folder)
    sequence: int = 0
    relocations: list[Relocation] = field(default_factory=list)  # since the last poll


@dataclass
class Event:
    kind: str
    item_id: str
    change_key: str
    folder_id: str
    old: tuple[str, str] | None = None  # (old item id, old parent folder id)


def _watermark(sub_id: str, seq: int) -> str:
    return base64.b64encode(f"{sub_id}:{seq}".encode()).decode()


class NotificationOps(Base):
    _subs: dict[str, Subscription] | None = None
    # Held while an item moves and while a poll reads the store, so a poll sees a move either
    # with its record or not at all.
    _subs_lock = threading.RLock()

    def _folders(self, s: Subscription) -> list[str]:
        if s.folder_ids is not None:
            return s.folder_ids
        root = self.store.distinguished_folder(s.mailbox, "root")
        dumpster = self.store.distinguished_folder(s.mailbox, "recoverableitemsroot")
        below = self.store.child_folders(dumpster["id"], True)
        hidden = {dumpster["id"]} | {f["id"] for f in below}
        folders = [root["id"]] + [f["id"] for f in self.store.child_folders(root["id"], True)]
        return [f for f in folders if f not in hidden]

    def _snapshot(self, folders: list[str]) -> dict[str, tuple[str, str]]:
        return {
            r["id"]: (r["change_key"], fid) for fid in folders for r in self.store.folder_items(fid)
        }

    def relocate(self, kind: str, row, folder, change):
        with self._subs_lock:
            new_id, new_key = change()
            if row["mailbox"] == folder["mailbox"]:
                record = Relocation(kind, row["id"], row["change_key"], row["folder_id"],
                                    new_id, new_key, folder["id"])  # fmt: skip
                for s in (NotificationOps._subs or {}).values():
                    if s.mailbox == folder["mailbox"]:
                        s.relocations.append(record)
        return new_id, new_key

    def op_Subscribe(self, ctx: Ctx, req):
        resp, msgs = operation_response("Subscribe")
        pull = req.find(m("PullSubscriptionRequest"))
        if pull is None:
            raise EWSError("ErrorInvalidSubscriptionRequest",
                           "Only pull subscriptions are modelled by the sandbox.")  # fmt: skip
        events = {e.text for e in pull.iter(t("EventType"))} & ALL_EVENTS
        if not events:
            raise EWSError("ErrorInvalidSubscriptionRequest", "No event types were given.")
        folder_ids = None
        if pull.get("SubscribeToAllFolders") not in ("true", "1"):
            holder = pull.find(t("FolderIds"))
            if holder is None or not len(holder):
                raise EWSError("ErrorInvalidSubscriptionRequest", "No folders were given.")
            folder_ids = [self.resolve_folder(ctx, ref)["id"] for ref in holder]
        subscription = Subscription(ctx.acting, folder_ids, events)
        sub_id = base64.b64encode(uuid.uuid4().bytes + b"\x07").decode()
        with self._subs_lock:
            subscription.seen = self._snapshot(self._folders(subscription))
            if NotificationOps._subs is None:
                NotificationOps._subs = {}
            NotificationOps._subs[sub_id] = subscription
        msg = response_message(msgs, "Subscribe")
        sub(msg, m("SubscriptionId"), sub_id)
        sub(msg, m("Watermark"), _watermark(sub_id, 0))
        return resp

    def _subscription(self, ctx: Ctx, sub_id: str) -> Subscription:
        found = (NotificationOps._subs or {}).get(sub_id)
        if found is None:
            raise EWSError("ErrorSubscriptionNotFound", "The specified subscription was not found.")
        if found.mailbox != ctx.acting:
            raise EWSError("ErrorSubscriptionAccessDenied",
                           "The subscription belongs to another mailbox.")  # fmt: skip
        return found

    def op_GetEvents(self, ctx: Ctx, req):
        resp, msgs = operation_response("GetEvents")
        sub_id = (req.findtext(m("SubscriptionId")) or "").strip()
        try:
            s = self._subscription(ctx, sub_id)
        except EWSError as e:
            response_message(msgs, "GetEvents", e)
            return resp
        inbox = self.store.distinguished_folder(s.mailbox, "inbox")["id"]
        with self._subs_lock:
            folders = self._folders(s)
            now = self._snapshot(folders)
            previous, s.sequence = _watermark(sub_id, s.sequence), s.sequence + 1
            mark = _watermark(sub_id, s.sequence)
            changes = _changes(s, set(folders), now, inbox)
            s.seen, s.relocations = now, []
        msg = response_message(msgs, "GetEvents")
        note = sub(msg, m("Notification"))
        sub(note, t("SubscriptionId"), sub_id)
        sub(note, t("PreviousWatermark"), previous)
        sub(note, t("MoreEvents"), "false")
        stamp = it.fmt(it.utcnow())
        emitted = 0
        for change in changes:
            if change.kind not in s.events:
                continue
            # MovedCopiedEventType: Watermark, TimeStamp, ItemId, ParentFolderId, then
            # OldItemId, OldParentFolderId (types.xsd; BaseObjectChangedEventType stops before).
            event = sub(note, t(change.kind))
            sub(event, t("Watermark"), mark)
            sub(event, t("TimeStamp"), stamp)
            sub(event, t("ItemId"), Id=change.item_id, ChangeKey=change.change_key)
            self._folder_ref(event, "ParentFolderId", change.folder_id)
            if change.old is not None:
                sub(event, t("OldItemId"), Id=change.old[0])
                self._folder_ref(event, "OldParentFolderId", change.old[1])
            emitted += 1
        if not emitted:
            sub(sub(note, t("StatusEvent")), t("Watermark"), mark)
        return resp

    def _folder_ref(self, parent, tag: str, folder_id: str) -> None:
        folder = self.store.folder(folder_id)
        sub(parent, t(tag), Id=folder_id, ChangeKey=folder["change_key"] if folder else None)

    def op_Unsubscribe(self, ctx: Ctx, req):
        resp, msgs = operation_response("Unsubscribe")
        sub_id = (req.findtext(m("SubscriptionId")) or "").strip()
        try:
            self._subscription(ctx, sub_id)
        except EWSError as e:
            response_message(msgs, "Unsubscribe", e)
            return resp
        with self._subs_lock:
            NotificationOps._subs.pop(sub_id, None)
        response_message(msgs, "Unsubscribe")
        return resp


def _changes(
    s: Subscription, watched: set[str], now: dict[str, tuple[str, str]], inbox: str
) -> list[Event]:
    """What happened since the last poll, in order: the moves and copies the subscription sees
    (each with whatever happened to the item before it), then what the snapshots still differ
    in. Every kind is listed; the caller keeps the ones asked for."""
    out: list[Event] = []
    state = dict(s.seen)  # the subscriber's picture, replayed forward

    def created(item_id: str, key: str, folder: str) -> None:
        out.append(Event("CreatedEvent", item_id, key, folder))
        if folder == inbox:
            out.append(Event("NewMailEvent", item_id, key, folder))

    for r in s.relocations:
        src, dst = r.old_folder in watched, r.new_folder in watched
        # A subscription to every folder is told of a move between folders it sees; one into
        # or out of what it does not see (the dumpster) is a deletion or creation there.
        if not (src or dst) or (s.folder_ids is None and not (src and dst)):
            continue
        if src and r.old_id not in state:  # made since the last poll, then moved or copied
            created(r.old_id, r.old_key, r.old_folder)
        elif src and state[r.old_id][0] != r.old_key:  # changed before it moved
            out.append(Event("ModifiedEvent", r.old_id, r.old_key, r.old_folder))
        if src:
            state[r.old_id] = (r.old_key, r.old_folder)
        out.append(Event(r.kind, r.new_id, r.new_key, r.new_folder, (r.old_id, r.old_folder)))
        if r.kind == "MovedEvent":
            state.pop(r.old_id, None)
        if dst:
            state[r.new_id] = (r.new_key, r.new_folder)
    for item_id, (key, folder) in now.items():
        if item_id not in state:
            created(item_id, key, folder)
        elif state[item_id] != (key, folder):
            out.append(Event("ModifiedEvent", item_id, key, folder))
    out += [Event("DeletedEvent", i, key, folder) for i, (key, folder) in state.items()
            if i not in now]  # fmt: skip
    return out
