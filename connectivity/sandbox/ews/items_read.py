"""Item reads: FindItem (restrictions, sorting, paging, calendar views) and GetItem."""

from __future__ import annotations

from lxml import etree

from .. import aqs
from .. import items as it
from ..soap import (
    EWSError,
    m,
    operation_response,
    parse,
    response_message,
    sub,
    t,
)
from .base import Base, Ctx


class ItemReadOps(Base):
    def op_FindItem(self, ctx: Ctx, req):
        resp, msgs = operation_response("FindItem")
        shape = req.find(m("ItemShape"))
        restriction = req.find(m("Restriction"))
        sort_order = req.find(m("SortOrder"))
        cal_view = req.find(m("CalendarView"))
        view = req.find(m("IndexedPageItemView"))
        query = aqs.parse(req.findtext(m("QueryString")) or "")
        for ref in req.find(m("ParentFolderIds")):
            try:
                folder = self.resolve_folder(ctx, ref)
            except EWSError as e:
                response_message(msgs, "FindItem", e)
                continue
            rows = self.store.folder_items(folder["id"])
            cache: dict[str, etree._Element] = {}

            def load(row, cache=cache):
                if row["id"] not in cache:
                    cache[row["id"]] = self._xml(row)
                return cache[row["id"]]

            if cal_view is not None:
                lo = it.norm_dt(cal_view.get("StartDate"))
                hi = it.norm_dt(cal_view.get("EndDate"))
                rows = [r for r in rows if r["start"] and r["start"] < hi and r["end"] > lo]
                rows.sort(key=lambda r: r["start"])
            if restriction is not None and len(restriction):
                expr = restriction[0]
                try:
                    rows = [r for r in rows if it.matches(expr, r, lambda r=r: load(r))]
                except EWSError as e:
                    response_message(msgs, "FindItem", e)
                    continue
            if query:
                rows = [r for r in rows if aqs.matches(query, load(r))]
            rows = it.sort_rows(rows, sort_order, load)
            if cal_view is not None:
                limit = int(cal_view.get("MaxEntriesReturned") or len(rows) or 1)
                page = rows[:limit]
                attrs = {
                    "TotalItemsInView": str(len(rows)),
                    "IncludesLastItemInRange": str(len(page) == len(rows)).lower(),
                }
            else:
                page, attrs = self._page(rows, view)
            xml = self.store.items_xml([r["id"] for r in page])
            msg = response_message(msgs, "FindItem")
            root = sub(msg, m("RootFolder"), **attrs)
            container = sub(root, t("Items"))
            for row in page:
                container.append(it.apply_shape(parse(xml[row["id"]]), shape))
        return resp

    def op_GetItem(self, ctx: Ctx, req):
        resp, msgs = operation_response("GetItem")
        shape = req.find(m("ItemShape"))
        for ref in it.ids_in(req.find(m("ItemIds"))):
            try:
                row = self.resolve_item(ctx, ref)
            except EWSError as e:
                response_message(msgs, "GetItem", e)
                continue
            msg = response_message(msgs, "GetItem")
            sub(msg, m("Items")).append(it.apply_shape(parse(row["xml"]), shape))
        return resp
