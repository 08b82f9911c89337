"""Synchronization: SyncFolderItems and SyncFolderHierarchy.

The sync state handed to the client is the set of ids and change keys it has seen (compressed,
base64). Each call answers the differences since that state — Create, Update, Delete — at most
MaxChangesReturned of them, with IncludesLastItemInRange telling whether more are waiting.
"""

from __future__ import annotations

import base64
import binascii
import json
import zlib

from .. import items as it
from ..soap import EWSError, m, operation_response, parse, response_message, sub, t
from .base import Base, Ctx


def _load_state(text: str | None) -> dict[str, str]:
    if not text:
        return {}
    try:
        data = json.loads(zlib.decompress(base64.b64decode(text, validate=True)))
        if isinstance(data, dict):
            return {str(k): str(v) for k, v in data.items()}
    except (binascii.Error, ValueError, zlib.error):
        pass
    raise EWSError("ErrorInvalidSyncStateData", "Synchronization state data is corrupt.")


def _dump_state(state: dict[str, str]) -> str:
    return base64.b64encode(zlib.compress(json.dumps(state, sort_keys=True).encode())).decode()


def _diff(seen: dict[str, str], now: dict[str, str], limit: int):
    changes = [("Create", i) for i in now if i not in seen]
    changes += [("Update", i) for i in now if i in seen and seen[i] != now[i]]
    changes += [("Delete", i) for i in seen if i not in now]
    page = changes[:limit]
    state = dict(seen)
    for kind, item_id in page:
        if kind == "Delete":
            state.pop(item_id)
        else:
            state[item_id] = now[item_id]
    return page, state, len(page) == len(changes)


class SyncOps(Base):
    def op_SyncFolderItems(self, ctx: Ctx, req):
        resp, msgs = operation_response("SyncFolderItems")
        folder = self.resolve_folder(ctx, req.find(m("SyncFolderId"))[0])
        limit = int(req.findtext(m("MaxChangesReturned")))
        if not 1 <= limit <= 512:
            raise EWSError("ErrorInvalidArgument", "MaxChangesReturned must be 1 to 512.")
        holder = req.find(m("Ignore"))
        ignore = {ref.get("Id") for ref in holder} if holder is not None else set()
        seen = _load_state(req.findtext(m("SyncState")))
        now = {
            r["id"]: r["change_key"]
            for r in self.store.folder_items(folder["id"])
            if r["id"] not in ignore
        }
        page, state, last = _diff(seen, now, limit)
        msg = response_message(msgs, "SyncFolderItems")
        sub(msg, m("SyncState"), _dump_state(state))
        sub(msg, m("IncludesLastItemInRange"), str(last).lower())
        changes = sub(msg, m("Changes"))
        shape = req.find(m("ItemShape"))
        xml = self.store.items_xml([i for kind, i in page if kind != "Delete"])
        for kind, item_id in page:
            change = sub(changes, t(kind))
            if kind == "Delete":
                sub(change, t("ItemId"), Id=item_id, ChangeKey=seen[item_id])
            else:
                change.append(it.apply_shape(parse(xml[item_id]), shape))
        return resp

    def op_SyncFolderHierarchy(self, ctx: Ctx, req):
        resp, msgs = operation_response("SyncFolderHierarchy")
        ref = req.find(m("SyncFolderId"))
        if ref is not None and len(ref):
            top = self.resolve_folder(ctx, ref[0])
        else:
            top = self.store.distinguished_folder(ctx.acting, "msgfolderroot")
        seen = _load_state(req.findtext(m("SyncState")))
        rows = {r["id"]: r for r in self.store.child_folders(top["id"], deep=True)}
        now = {i: r["change_key"] for i, r in rows.items()}
        page, state, last = _diff(seen, now, len(now) + len(seen) or 1)
        msg = response_message(msgs, "SyncFolderHierarchy")
        sub(msg, m("SyncState"), _dump_state(state))
        sub(msg, m("IncludesLastFolderInRange"), str(last).lower())
        changes = sub(msg, m("Changes"))
        for kind, folder_id in page:
            change = sub(changes, t(kind))
            if kind == "Delete":
                sub(change, t("FolderId"), Id=folder_id, ChangeKey=seen[folder_id])
            else:
                self.folder_element(change, rows[folder_id])
        return resp
