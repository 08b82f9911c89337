"""Recurring series: the occurrences of a calendar item's ``t:Recurrence``, as calendar views
expand them, and the ids Exchange gives single occurrences.

Patterns: daily, weekly (days of week), absolute monthly and absolute yearly; ranges: numbered,
end date and no end. Occurrences keep the master's UTC time of day (a series crossing a
daylight-saving change keeps UTC, not wall-clock, time — a simplification). Deleted occurrences
(``t:DeletedOccurrences``) are skipped. Relative monthly/yearly patterns are not expanded.
"""

from __future__ import annotations

import base64
import binascii
import copy
import datetime as dt
import struct

from lxml import etree

from .soap import EWSError, local, t

_MARK = b"\x06"
_LIMIT = 2000  # occurrences examined per series
_MONTHS = ["January", "February", "March", "April", "May", "June", "July", "August",
           "September", "October", "November", "December"]  # fmt: skip
_DAYS = ["Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday"]


def occurrence_id(master_id: str, index: int) -> str:
    return base64.b64encode(base64.b64decode(master_id) + _MARK + struct.pack("<I", index)).decode()


def split_id(value: str) -> tuple[str, int] | None:
    """(master id, 1-based instance index) of an occurrence id, or None for other ids."""
    try:
        raw = base64.b64decode(value, validate=True)
    except (binascii.Error, ValueError):
        return None
    if len(raw) < 13 or raw[-5:-4] != _MARK:
        return None
    return base64.b64encode(raw[:-5]).decode(), struct.unpack("<I", raw[-4:])[0]


def _date(text: str | None) -> dt.date | None:
    try:
        return dt.date.fromisoformat((text or "")[:10])
    except ValueError:
        return None


def _candidates(pattern: etree._Element, first: dt.date):
    kind = local(pattern)
    interval = max(int(pattern.findtext(t("Interval")) or 1), 1)
    day = first
    if kind == "DailyRecurrence":
        while True:
            yield day
            day += dt.timedelta(days=interval)
    elif kind == "WeeklyRecurrence":
        wanted = {_DAYS.index(d) for d in (pattern.findtext(t("DaysOfWeek")) or "").split()
                  if d in _DAYS} or {first.weekday()}  # fmt: skip
        week = first - dt.timedelta(days=first.weekday())
        while True:
            for offset in sorted(wanted):
                candidate = week + dt.timedelta(days=offset)
                if candidate >= first:
                    yield candidate
            week += dt.timedelta(weeks=interval)
    elif kind in ("AbsoluteMonthlyRecurrence", "AbsoluteYearlyRecurrence"):
        dom = int(pattern.findtext(t("DayOfMonth")) or first.day)
        month_step = interval if kind.startswith("AbsoluteMonthly") else 12
        year, month = first.year, first.month
        if kind == "AbsoluteYearlyRecurrence":
            name = pattern.findtext(t("Month")) or first.strftime("%B")
            month = _MONTHS.index(name) + 1 if name in _MONTHS else first.month
        while True:
            try:
                candidate = dt.date(year, month, dom)
            except ValueError:
                candidate = None
            if candidate and candidate >= first:
                yield candidate
            month += month_step
            year, month = year + (month - 1) // 12, (month - 1) % 12 + 1
    else:
        return


def occurrences(master: etree._Element) -> list[tuple[int, dt.datetime, dt.datetime]]:
    """(instance index, start, end) of every occurrence, deleted ones left out."""
    from .items import parse_dt

    rec = master.find(t("Recurrence"))
    start, end = parse_dt(master.findtext(t("Start"))), parse_dt(master.findtext(t("End")))
    if rec is None or len(rec) < 2 or start is None or end is None:
        return []
    pattern, boundary = rec[0], rec[1]
    first = _date(boundary.findtext(t("StartDate"))) or start.date()
    last = _date(boundary.findtext(t("EndDate")))
    count = int(boundary.findtext(t("NumberOfOccurrences")) or 0) or None
    deleted = {
        parse_dt(d.findtext(t("Start")))
        for d in master.iterfind(f"{t('DeletedOccurrences')}/{t('DeletedOccurrence')}")
    }
    out = []
    for index, day in enumerate(_candidates(pattern, first), start=1):
        if index > _LIMIT or (count and index > count) or (last and day > last):
            break
        occ_start = dt.datetime.combine(day, start.timetz())
        if occ_start not in deleted:
            out.append((index, occ_start, occ_start + (end - start)))
    return out


def occurrence_element(
    master: etree._Element, master_id: str, index: int, span: tuple | None = None
) -> etree._Element:
    """The master shaped as one occurrence (what FindItem/GetItem return for it)."""
    from .items import fmt

    if span is None:
        found = [o[1:] for o in occurrences(master) if o[0] == index]
        if not found:
            raise EWSError("ErrorCalendarOccurrenceIndexIsOutOfRecurrenceRange")
        span = found[0]
    start, end = span
    elem = copy.deepcopy(master)
    for tag in ("Recurrence", "DeletedOccurrences", "ModifiedOccurrences", "FirstOccurrence",
                "LastOccurrence", "CalendarItemType", "IsRecurring", "Start", "End"):  # fmt: skip
        for old in elem.findall(t(tag)):
            elem.remove(old)
    ref = elem.find(t("ItemId"))
    ref.set("Id", occurrence_id(master_id, index))
    for tag, text in (("Start", fmt(start)), ("End", fmt(end)), ("OriginalStart", fmt(start)),
                      ("CalendarItemType", "Occurrence"), ("IsRecurring", "true")):  # fmt: skip
        etree.SubElement(elem, t(tag)).text = text
    return elem
