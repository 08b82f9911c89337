"""Recurring series: the occurrences of a calendar item's ``t:Recurrence``, as calendar views
expand them, and the ids Exchange gives single occurrences.

Patterns: daily, weekly (days of week), absolute monthly and absolute yearly; ranges: numbered,
end date and no end. As in Exchange, a series lives in its time zone (the master's
``t:StartTimeZone``, a Windows id): pattern days are that zone's dates and every occurrence keeps
the master's wall-clock start and length there, so a 09:00 series in Berlin is at 09:00 local
before and after a daylight-saving change (its UTC time moves) and an all-day series stays on
midnight-to-midnight dates. A series without a known zone is expanded in UTC. Deleted occurrences
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
from .timezones import zone_for

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


def series_zone(master: etree._Element) -> dt.tzinfo:
    """The zone a series recurs in: its StartTimeZone (MeetingTimeZone from Exchange 2007
    clients), UTC when it has none the sandbox knows."""
    for tag in ("StartTimeZone", "MeetingTimeZone"):
        holder = master.find(t(tag))
        if holder is not None:
            zone = zone_for(holder.get("Id") or holder.get("TimeZoneName"))
            if zone is not None:
                return zone
    return dt.UTC


def _at(day: dt.date, wall: dt.time, zone: dt.tzinfo) -> dt.datetime:
    """A wall-clock time on `day` in `zone`, as UTC (a time in the spring gap moves forward,
    as zoneinfo's fold=0 reads it)."""
    return dt.datetime.combine(day, wall, tzinfo=zone).astimezone(dt.UTC)


def occurrences(master: etree._Element) -> list[tuple[int, dt.datetime, dt.datetime]]:
    """(instance index, start, end) in UTC of every occurrence, deleted ones left out."""
    from .items import parse_dt

    rec = master.find(t("Recurrence"))
    start, end = parse_dt(master.findtext(t("Start"))), parse_dt(master.findtext(t("End")))
    if rec is None or len(rec) < 2 or start is None or end is None:
        return []
    zone = series_zone(master)
    local_start = start.astimezone(zone).replace(tzinfo=None)
    # Wall-clock length: an all-day occurrence on a 23-hour day still ends at midnight.
    length = end.astimezone(zone).replace(tzinfo=None) - local_start
    pattern, boundary = rec[0], rec[1]
    first = _date(boundary.findtext(t("StartDate"))) or local_start.date()
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
        wall = dt.datetime.combine(day, local_start.time())
        occ_start = _at(day, local_start.time(), zone)
        if occ_start not in deleted:
            wall_end = wall + length
            out.append((index, occ_start, _at(wall_end.date(), wall_end.time(), zone)))
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
