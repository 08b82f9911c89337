"""Shared state of the EWS operations: the request context and how mailboxes, folders and
items named in a request are resolved and checked."""

from __future__ import annotations

import base64
import binascii
from dataclasses import dataclass

from lxml import etree

from .. import recurrence
from ..auth import Principal, grant_covers
from ..soap import (
    EWSError,
    local,
    parse,
    sub,
    t,
)
from ..store import ARCHIVE_FOLDERS, PUBLIC_FOLDERS, Store


@dataclass
class Ctx:
    principal: Principal
    acting: str  # primary SMTP address of the mailbox the request acts as


class Base:
    """Mailbox, folder and item resolution shared by every operation family."""

    def __init__(self, store: Store):
        self.store = store

    # --- access helpers ------------------------------------------------------------------------
    def check_mailbox(self, ctx: Ctx, address: str) -> str:
        address = address.strip().lower()
        if address == ctx.acting:
            return address
        if self.store.get_mailbox(address) is None:
            raise EWSError("ErrorNonExistentMailbox")
        # A user with full-access delegation (grant table) may open another mailbox.
        if ctx.principal.kind == "user" and grant_covers(self.store, ctx.principal.key, address):
            return address
        raise EWSError("ErrorAccessDenied")

    def resolve_folder(self, ctx: Ctx, ref: etree._Element):
        kind = local(ref)
        if kind == "DistinguishedFolderId":
            mbx = ref.findtext(f"{t('Mailbox')}/{t('EmailAddress')}") or ctx.acting
            mbx = self.check_mailbox(ctx, mbx)
            name = ref.get("Id", "").lower()
            if name in PUBLIC_FOLDERS:
                raise EWSError(
                    "ErrorNoPublicFolderReplicaAvailable",
                    "There are no public folder servers available.",
                )
            if name in ARCHIVE_FOLDERS:  # the mailbox has no online archive
                raise EWSError("ErrorFolderNotFound")
            row = self.store.distinguished_folder(mbx, name)
            if row is None:
                raise EWSError("ErrorFolderNotFound")
            return row
        if kind == "FolderId":
            row = self.store.folder(ref.get("Id", ""))
            if row is None:
                self._check_id(ref.get("Id", ""))
                raise EWSError("ErrorFolderNotFound")
            self.check_mailbox(ctx, row["mailbox"])
            return row
        raise EWSError("ErrorInvalidRequest", f"Unsupported folder reference {kind}.")

    def resolve_item(self, ctx: Ctx, ref: etree._Element):
        if local(ref) == "OccurrenceItemId":
            index = ref.get("InstanceIndex") or ""
            if not index.isdigit():
                raise EWSError("ErrorSchemaValidation", "InstanceIndex must be a number.")
            return self._occurrence(ctx, ref.get("RecurringMasterId", ""), int(index))
        if local(ref) == "RecurringMasterItemId":
            return self._master_of(ctx, ref.get("OccurrenceId", ""))
        row = self.store.get_item(ref.get("Id", ""))
        if row is None:
            occurrence = recurrence.split_id(ref.get("Id", ""))
            if occurrence is not None:
                return self._occurrence(ctx, *occurrence)
            self._check_id(ref.get("Id", ""))
            raise EWSError("ErrorItemNotFound")
        self.check_mailbox(ctx, row["mailbox"])
        return row

    def _master_of(self, ctx: Ctx, occurrence_id: str):
        """The series an occurrence id belongs to (RecurringMasterItemId); a master's own id
        names the master, any other item's id is not found, as in Exchange."""
        split = recurrence.split_id(occurrence_id)
        row = self.store.get_item(split[0] if split else occurrence_id)
        if row is None:
            self._check_id(occurrence_id)
            raise EWSError("ErrorItemNotFound")
        self.check_mailbox(ctx, row["mailbox"])
        if parse(row["xml"]).find(t("Recurrence")) is None:
            raise EWSError("ErrorItemNotFound")
        return row

    def _occurrence(self, ctx: Ctx, master_id: str, index: int) -> dict:
        """A row-like dict for one occurrence of a recurring series ("occurrence_of" set)."""
        master = self.store.get_item(master_id)
        if master is None:
            self._check_id(master_id)
            raise EWSError("ErrorItemNotFound")
        self.check_mailbox(ctx, master["mailbox"])
        elem = recurrence.occurrence_element(parse(master["xml"]), master_id, index)
        row = {k: master[k] for k in master.keys()}  # noqa: SIM118 - sqlite3.Row
        row.update(id=elem.find(t("ItemId")).get("Id"), xml=etree.tostring(elem),
                   occurrence_of=master_id, start=elem.findtext(t("Start")))  # fmt: skip
        return row

    def relocate(self, kind: str, row, folder, change):
        """Run `change`, the store side of moving (kind "MovedEvent") or copying
        ("CopiedEvent") item `row` into `folder`, which returns the new id and change key.
        Notifications override this to report the move as one event."""
        return change()

    @staticmethod
    def refuse_occurrence(row, op: str) -> None:
        if isinstance(row, dict) and "occurrence_of" in row:
            raise EWSError(
                "ErrorInvalidOperation",
                f"{op} of a single occurrence is not modelled by the sandbox; act on the series.",
            )

    @staticmethod
    def _check_id(value: str) -> None:
        try:
            if len(base64.b64decode(value, validate=True)) < 8:
                raise ValueError
        except (binascii.Error, ValueError):
            raise EWSError("ErrorInvalidIdMalformed") from None

    def folder_element(self, parent: etree._Element, row, shape=None) -> etree._Element:
        el = sub(parent, t(row["element"]))
        sub(el, t("FolderId"), Id=row["id"], ChangeKey=row["change_key"])
        if row["parent_id"]:
            prow = self.store.folder(row["parent_id"])
            sub(el, t("ParentFolderId"), Id=prow["id"], ChangeKey=prow["change_key"])
        if row["folder_class"]:
            sub(el, t("FolderClass"), row["folder_class"])
        sub(el, t("DisplayName"), row["display_name"])
        total, unread, children = self.store.folder_counts(row["id"])
        sub(el, t("TotalCount"), str(total))
        sub(el, t("ChildFolderCount"), str(children))
        if row["element"] != "CalendarFolder":
            sub(el, t("UnreadCount"), str(unread))
        if row["distinguished"]:
            sub(el, t("DistinguishedFolderId"), row["distinguished"])
        return el

    @staticmethod
    def _page(rows: list, view) -> tuple[list, dict[str, str]]:
        total = len(rows)
        if view is None:
            return rows, {"TotalItemsInView": str(total), "IncludesLastItemInRange": "true"}
        size = int(view.get("MaxEntriesReturned") or total or 1)
        offset = int(view.get("Offset") or 0)
        if view.get("BasePoint", "Beginning") == "End":
            offset = max(total - offset - size, 0)
        page = rows[offset : offset + size]
        last = offset + len(page) >= total
        attrs = {"TotalItemsInView": str(total), "IncludesLastItemInRange": str(last).lower()}
        if not last:
            attrs = {"IndexedPagingOffset": str(offset + len(page)), **attrs}
        else:
            attrs = {"IndexedPagingOffset": str(total), **attrs}
        return page, attrs

    def _xml(self, row) -> etree._Element:
        if "xml" in row.keys():  # noqa: SIM118 - sqlite3.Row membership tests values
            return parse(row["xml"])
        return parse(self.store.items_xml([row["id"]])[row["id"]])
