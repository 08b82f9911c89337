"""Folder operations: GetFolder, FindFolder, CreateFolder, DeleteFolder."""

from __future__ import annotations

from lxml import etree

from .. import items as it
from ..soap import (
    EWSError,
    local,
    m,
    operation_response,
    response_message,
    sub,
    t,
)
from .base import Base, Ctx


class FolderOps(Base):
    # --- folders ------------------------------------------------------------------------------
    def op_GetFolder(self, ctx: Ctx, req):
        resp, msgs = operation_response("GetFolder")
        for ref in req.find(m("FolderIds")):
            try:
                row = self.resolve_folder(ctx, ref)
            except EWSError as e:
                response_message(msgs, "GetFolder", e)
                continue
            msg = response_message(msgs, "GetFolder")
            self.folder_element(sub(msg, m("Folders")), row)
        return resp

    def op_FindFolder(self, ctx: Ctx, req):
        resp, msgs = operation_response("FindFolder")
        deep = req.get("Traversal", "Shallow") == "Deep"
        view = req.find(m("IndexedPageFolderView"))
        restriction = req.find(m("Restriction"))
        for ref in req.find(m("ParentFolderIds")):
            try:
                parent = self.resolve_folder(ctx, ref)
            except EWSError as e:
                response_message(msgs, "FindFolder", e)
                continue
            rows = self.store.child_folders(parent["id"], deep=deep)
            if restriction is not None and len(restriction):
                rows = [r for r in rows if self._folder_matches(restriction[0], r)]
            page, attrs = self._page(rows, view)
            msg = response_message(msgs, "FindFolder")
            root = sub(msg, m("RootFolder"), **attrs)
            folders = sub(root, t("Folders"))
            for row in page:
                self.folder_element(folders, row)
        return resp

    def op_CreateFolder(self, ctx: Ctx, req):
        resp, msgs = operation_response("CreateFolder")
        parent = self.resolve_folder(ctx, req.find(m("ParentFolderId"))[0])
        for folder in req.find(m("Folders")):
            name = folder.findtext(t("DisplayName")) or "New Folder"
            siblings = {r["display_name"].lower() for r in self.store.child_folders(parent["id"])}
            if name.lower() in siblings:
                response_message(msgs, "CreateFolder", EWSError("ErrorFolderExists"))
                continue
            cls = folder.findtext(t("FolderClass")) or (
                {
                    "CalendarFolder": "IPF.Appointment",
                    "TasksFolder": "IPF.Task",
                    "ContactsFolder": "IPF.Contact",
                }.get(local(folder))  # a plain Folder gets no class, as in Exchange
            )
            fid = self.store.create_folder(
                parent["mailbox"], parent["id"], name, cls, local(folder)
            )
            row = self.store.folder(fid)
            msg = response_message(msgs, "CreateFolder")
            el = sub(sub(msg, m("Folders")), t(row["element"]))
            sub(el, t("FolderId"), Id=row["id"], ChangeKey=row["change_key"])
        return resp

    def op_DeleteFolder(self, ctx: Ctx, req):
        resp, msgs = operation_response("DeleteFolder")
        for ref in req.find(m("FolderIds")):
            try:
                row = self.resolve_folder(ctx, ref)
                if row["distinguished"]:
                    raise EWSError(
                        "ErrorDeleteDistinguishedFolder", "Distinguished folders cannot be deleted."
                    )
            except EWSError as e:
                response_message(msgs, "DeleteFolder", e)
                continue
            self.store.delete_folder(row["id"])
            response_message(msgs, "DeleteFolder")
        return resp

    def _folder_matches(self, expr, row) -> bool:
        """A FindFolder restriction, evaluated on the folder's properties as returned."""
        elem = self.folder_element(etree.Element(t("Folders")), row)
        return it.matches(expr, None, lambda: elem)

    def _unique_name(self, parent_id: str, name: str, own_id: str | None = None) -> None:
        for row in self.store.child_folders(parent_id):
            if row["display_name"].lower() == name.lower() and row["id"] != own_id:
                raise EWSError("ErrorFolderExists")

    def op_UpdateFolder(self, ctx: Ctx, req):
        resp, msgs = operation_response("UpdateFolder")
        for change in req.find(m("FolderChanges")):
            try:
                row = self.resolve_folder(ctx, change[0])
                name = None
                for update in change.find(t("Updates")):
                    uri = update[0].get("FieldURI", "")
                    if uri != "folder:DisplayName" or local(update) != "SetFolderField":
                        raise EWSError(
                            "ErrorInvalidRequest",
                            f"The sandbox can change a folder's DisplayName only, not {uri}.",
                        )
                    name = (update[1].findtext(t("DisplayName")) or "").strip()
                if not name:
                    raise EWSError("ErrorInvalidRequest", "DisplayName cannot be empty.")
                if row["distinguished"]:
                    raise EWSError("ErrorAccessDenied", "Distinguished folders cannot be renamed.")
                self._unique_name(row["parent_id"], name, row["id"])
            except EWSError as e:
                response_message(msgs, "UpdateFolder", e)
                continue
            change_key = self.store.update_folder(row["id"], display_name=name)
            msg = response_message(msgs, "UpdateFolder")
            el = sub(sub(msg, m("Folders")), t(row["element"]))
            sub(el, t("FolderId"), Id=row["id"], ChangeKey=change_key)
        return resp

    def op_MoveFolder(self, ctx: Ctx, req):
        resp, msgs = operation_response("MoveFolder")
        to = self.resolve_folder(ctx, req.find(m("ToFolderId"))[0])
        for ref in req.find(m("FolderIds")):
            try:
                row = self.resolve_folder(ctx, ref)
                if row["distinguished"]:
                    raise EWSError("ErrorMoveDistinguishedFolder")
                below = {r["id"] for r in self.store.child_folders(row["id"], deep=True)}
                if to["id"] == row["id"] or to["id"] in below or to["mailbox"] != row["mailbox"]:
                    raise EWSError("ErrorMoveCopyFailed", "A folder cannot move there.")
                self._unique_name(to["id"], row["display_name"])
            except EWSError as e:
                response_message(msgs, "MoveFolder", e)
                continue
            change_key = self.store.update_folder(row["id"], parent_id=to["id"])
            msg = response_message(msgs, "MoveFolder")
            el = sub(sub(msg, m("Folders")), t(row["element"]))
            sub(el, t("FolderId"), Id=row["id"], ChangeKey=change_key)
        return resp

    def op_EmptyFolder(self, ctx: Ctx, req):
        resp, msgs = operation_response("EmptyFolder")
        delete_type = req.get("DeleteType", "HardDelete")
        subfolders = req.get("DeleteSubFolders", "false") in ("true", "1")
        for ref in req.find(m("FolderIds")):
            try:
                row = self.resolve_folder(ctx, ref)
            except EWSError as e:
                response_message(msgs, "EmptyFolder", e)
                continue
            folders = [row] + (self.store.child_folders(row["id"], deep=True) if subfolders else [])
            for folder in folders:
                for item in self.store.folder_items(folder["id"]):
                    if delete_type == "HardDelete":
                        self.store.delete_item(item["id"])
                    else:
                        dest = "deleteditems" if delete_type == "MoveToDeletedItems" else (
                            "recoverableitemsdeletions")  # fmt: skip
                        full = self.store.get_item(item["id"])
                        target = self.store.distinguished_folder(row["mailbox"], dest)
                        self._move(full, target, keep_id=True)
            if subfolders:
                for child in self.store.child_folders(row["id"]):
                    self.store.delete_folder(child["id"])
            response_message(msgs, "EmptyFolder")
        return resp
