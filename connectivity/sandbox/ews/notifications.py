"""Pull notifications: Subscribe (PullSubscriptionRequest), GetEvents and Unsubscribe.

A subscription remembers the items of its folders (ids and change keys) when it was made or
last polled; GetEvents answers the differences as CreatedEvent, ModifiedEvent, DeletedEvent
(and NewMailEvent for new mail in the Inbox), or a StatusEvent when nothing changed. A moved
item shows as deleted in one folder and created in the other. Subscriptions live in memory,
like Exchange's, and are gone after a restart (ErrorSubscriptionNotFound). Push and streaming
subscriptions are not modelled (ErrorInvalidRequest / ErrorInvalidSubscriptionRequest).
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


@dataclass
class Subscription:
    mailbox: str
    folder_ids: list[str] | None  # None: every folder of the mailbox
    events: set[str]
    seen: dict[str, tuple[str, str]] = field(default_factory=dict)  # item -> (ck, folder)
    sequence: int = 0


def _watermark(sub_id: str, seq: int) -> str:
    return base64.b64encode(f"{sub_id}:{seq}".encode()).decode()


class NotificationOps(Base):
    _subs: dict[str, Subscription] | None = None
    _subs_lock = threading.Lock()

    def _snapshot(self, s: Subscription) -> dict[str, tuple[str, str]]:
        if s.folder_ids is None:
            root = self.store.distinguished_folder(s.mailbox, "root")
            folders = [root["id"]] + [f["id"] for f in self.store.child_folders(root["id"], True)]
        else:
            folders = s.folder_ids
        return {
            r["id"]: (r["change_key"], fid) for fid in folders for r in self.store.folder_items(fid)
        }

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
        subscription.seen = self._snapshot(subscription)
        sub_id = base64.b64encode(uuid.uuid4().bytes + b"\x07").decode()
        with self._subs_lock:
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
        with self._subs_lock:
            now = self._snapshot(s)
            previous, s.sequence = _watermark(sub_id, s.sequence), s.sequence + 1
            mark = _watermark(sub_id, s.sequence)
            changes = [("CreatedEvent", i, now[i]) for i in now if i not in s.seen]
            changes += [("ModifiedEvent", i, now[i]) for i in now
                        if i in s.seen and s.seen[i] != now[i]]  # fmt: skip
            changes += [("DeletedEvent", i, s.seen[i]) for i in s.seen if i not in now]
            s.seen = now
        inbox = self.store.distinguished_folder(s.mailbox, "inbox")["id"]
        msg = response_message(msgs, "GetEvents")
        note = sub(msg, m("Notification"))
        sub(note, t("SubscriptionId"), sub_id)
        sub(note, t("PreviousWatermark"), previous)
        sub(note, t("MoreEvents"), "false")
        stamp = it.fmt(it.utcnow())
        emitted = 0
        for kind, item_id, (change_key, folder_id) in changes:
            kinds = [kind] + (["NewMailEvent"] if kind == "CreatedEvent" and folder_id == inbox
                              else [])  # fmt: skip
            for name in kinds:
                if name not in s.events:
                    continue
                event = sub(note, t(name))
                sub(event, t("Watermark"), mark)
                sub(event, t("TimeStamp"), stamp)
                sub(event, t("ItemId"), Id=item_id, ChangeKey=change_key)
                folder = self.store.folder(folder_id)
                sub(event, t("ParentFolderId"), Id=folder_id,
                    ChangeKey=folder["change_key"] if folder else None)  # fmt: skip
                emitted += 1
        if not emitted:
            sub(sub(note, t("StatusEvent")), t("Watermark"), mark)
        return resp

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
