"""Folder operations: GetFolder, FindFolder, CreateFolder, DeleteFolder."""

from __future__ import annotations

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
        for ref in req.find(m("ParentFolderIds")):
            try:
                parent = self.resolve_folder(ctx, ref)
            except EWSError as e:
                response_message(msgs, "FindFolder", e)
                continue
            rows = self.store.child_folders(parent["id"], deep=deep)
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
                }.get(local(folder), "IPF.Note")
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
