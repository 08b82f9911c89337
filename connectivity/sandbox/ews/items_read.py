"""Item reads: FindItem (restrictions, sorting, paging, calendar views) and GetItem."""

from __future__ import annotations

from lxml import etree

from .. import aqs, recurrence
from .. import items as it
from ..matcher import matcher
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
                if lo is None or hi is None:
                    raise EWSError("ErrorSchemaValidation", "CalendarView needs both dates.")
                rows = self._calendar_view(rows, load, lo, hi)
            if restriction is not None and len(restriction):
                test = matcher(restriction[0])
                try:
                    rows = [r for r in rows if test(r, lambda r=r: load(r))]
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
            xml = self.store.items_xml([r["id"] for r in page if not isinstance(r, dict)])
            msg = response_message(msgs, "FindItem")
            root = sub(msg, m("RootFolder"), **attrs)
            container = sub(root, t("Items"))
            for row in page:
                elem = row["elem"] if isinstance(row, dict) else parse(xml[row["id"]])
                container.append(it.apply_shape(elem, shape))
        return resp

    @staticmethod
    def _calendar_view(rows, load, lo: str, hi: str) -> list:
        """Items and expanded occurrences (dicts with the element) overlapping [lo, hi)."""
        out = []
        for r in rows:
            if r["element"] == "CalendarItem" and load(r).find(t("Recurrence")) is not None:
                master = load(r)
                for index, start, end in recurrence.occurrences(master):
                    if it.fmt(start) < hi and it.fmt(end) > lo:
                        elem = recurrence.occurrence_element(master, r["id"], index, (start, end))
                        occ_id = elem.find(t("ItemId")).get("Id")
                        out.append({**{k: r[k] for k in r.keys()}, "id": occ_id, "elem": elem,  # noqa: SIM118
                                    "start": it.fmt(start), "end": it.fmt(end),
                                    "xml": etree.tostring(elem)})  # fmt: skip
            elif r["start"] and r["start"] < hi and r["end"] > lo:
                out.append(r)
        return sorted(out, key=lambda r: r["start"])

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
