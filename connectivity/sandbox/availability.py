"""GetUserAvailability: free/busy computed from a mailbox's calendar items.

Times in the request and response are wall-clock times in the caller's <t:TimeZone>
(a bias plus optional standard/daylight transition rules), as in Exchange.
"""

from __future__ import annotations

import calendar
import datetime as dt

from lxml import etree

from . import items as it
from .soap import MNS, sub, t
from .store import Store
from .timezones import display_name, windows_zones

BUSY_CODES = {"Free": "0", "Tentative": "1", "Busy": "2", "OOF": "3", "WorkingElsewhere": "4"}
WEEKDAYS = ["Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday"]


def _transition(rule: etree._Element, year: int) -> dt.datetime:
    month = int(rule.findtext(t("Month")))
    order = int(rule.findtext(t("DayOrder")))
    weekday = WEEKDAYS.index(rule.findtext(t("DayOfWeek")))
    hh, mm, *_ = (int(x) for x in rule.findtext(t("Time")).split(":"))
    days = [
        d
        for d in calendar.Calendar().itermonthdates(year, month)
        if d.month == month and d.weekday() == weekday
    ]
    day = days[-1] if order < 1 or order > len(days) or order == 5 else days[order - 1]
    return dt.datetime(year, month, day.day, hh, mm)


def utc_offset(tz: etree._Element | None, local_time: dt.datetime) -> dt.timedelta:
    """Offset (local - UTC) of a wall-clock time in an EWS SerializableTimeZone."""
    if tz is None:
        return dt.timedelta(0)
    bias = int(tz.findtext(t("Bias")) or 0)
    std, dst = tz.find(t("StandardTime")), tz.find(t("DaylightTime"))
    if std is not None and dst is not None and std.findtext(t("Month")) != "0":
        start = _transition(dst, local_time.year)
        end = _transition(std, local_time.year)
        in_dst = (start <= local_time < end) if start < end else not (end <= local_time < start)
        bias += int((dst if in_dst else std).findtext(t("Bias")) or 0)
    return -dt.timedelta(minutes=bias)


def to_utc(tz, text: str) -> dt.datetime:
    value = dt.datetime.fromisoformat(text.strip().rstrip("Z")[:19])
    return (value - utc_offset(tz, value)).replace(tzinfo=dt.UTC)


def to_local(tz, value: dt.datetime) -> str:
    naive = value.astimezone(dt.UTC).replace(tzinfo=None)
    guess = naive + utc_offset(tz, naive)
    return (naive + utc_offset(tz, guess)).strftime("%Y-%m-%dT%H:%M:%S")


def free_busy_view(store: Store, address: str, tz, options) -> etree._Element:
    window = options.find(t("TimeWindow"))
    start = to_utc(tz, window.findtext(t("StartTime")))
    end = to_utc(tz, window.findtext(t("EndTime")))
    interval = int(options.findtext(t("MergedFreeBusyIntervalInMinutes")) or 30)
    view_type = options.findtext(t("RequestedView")) or "DetailedMerged"

    events = []
    for row in store.calendar_items(address, it.fmt(start), it.fmt(end)):
        elem = etree.fromstring(row["xml"])
        busy = elem.findtext(t("LegacyFreeBusyStatus")) or "Busy"
        events.append((it.parse_dt(row["start"]), it.parse_dt(row["end"]), busy, elem))

    view = etree.Element(f"{{{MNS}}}FreeBusyView")
    sub(view, t("FreeBusyViewType"), view_type)
    if "Merged" in view_type:
        slots = []
        cursor = start
        while cursor < end:
            nxt = cursor + dt.timedelta(minutes=interval)
            code = "0"
            for ev_start, ev_end, busy, _ in events:
                if ev_start < nxt and ev_end > cursor:
                    code = max(code, BUSY_CODES.get(busy, "2"))
            slots.append(code)
            cursor = nxt
        sub(view, t("MergedFreeBusy"), "".join(slots))
    if view_type != "MergedOnly":
        array = sub(view, t("CalendarEventArray"))
        for ev_start, ev_end, busy, elem in events:
            ev = sub(array, t("CalendarEvent"))
            sub(ev, t("StartTime"), to_local(tz, ev_start))
            sub(ev, t("EndTime"), to_local(tz, ev_end))
            sub(ev, t("BusyType"), busy)
            if view_type.startswith("Detailed"):
                details = sub(ev, t("CalendarEventDetails"))
                sub(details, t("ID"), elem.find(t("ItemId")).get("Id"))
                sub(details, t("Subject"), elem.findtext(t("Subject")) or "")
                sub(details, t("Location"), elem.findtext(t("Location")) or "")
                stored = {
                    "IsMeeting": elem.findtext(t("IsMeeting")),
                    "IsRecurring": elem.findtext(t("IsRecurring")),
                    "IsReminderSet": elem.findtext(t("ReminderIsSet")),
                    "IsPrivate": str(elem.findtext(t("Sensitivity")) == "Private").lower(),
                }
                for flag in ("IsMeeting", "IsRecurring", "IsException", "IsReminderSet",
                             "IsPrivate"):  # fmt: skip
                    sub(details, t(flag), stored.get(flag) or "false")
        working_hours(view)
    return view


def working_hours(view: etree._Element) -> None:
    """Sandbox mailboxes work Monday to Friday 08:00-17:00 UTC (Exchange's default hours)."""
    wh = sub(view, t("WorkingHours"))
    tz = sub(wh, t("TimeZone"))
    sub(tz, t("Bias"), "0")
    for tag, month in (("StandardTime", "10"), ("DaylightTime", "3")):
        part = sub(tz, t(tag))
        for name, value in (("Bias", "0"), ("Time", "02:00:00"), ("DayOrder", "5"),
                            ("Month", month), ("DayOfWeek", "Sunday")):  # fmt: skip
            sub(part, t(name), value)
    period = sub(sub(wh, t("WorkingPeriodArray")), t("WorkingPeriod"))
    sub(period, t("DayOfWeek"), "Monday Tuesday Wednesday Thursday Friday")
    sub(period, t("StartTimeInMinutes"), "480")
    sub(period, t("EndTimeInMinutes"), "1020")


# Windows time zones the sandbox can describe in GetServerTimeZones:
# id -> (display name, standard bias minutes, daylight rule or None). A rule is
# (daylight bias, (month, occurrence, weekday, "HH:MM") to daylight, (...) back to standard);
# occurrence -1 means "last".
_EU = (-60, (3, -1, "Sunday", "02:00"), (10, -1, "Sunday", "03:00"))
_US = (-60, (3, 2, "Sunday", "02:00"), (11, 1, "Sunday", "02:00"))
TIME_ZONES = {
    "UTC": ("(UTC) Coordinated Universal Time", 0, None),
    "GMT Standard Time": (
        "(UTC+00:00) Dublin, Edinburgh, Lisbon, London",
        0,
        (-60, (3, -1, "Sunday", "01:00"), (10, -1, "Sunday", "02:00")),
    ),
    "W. Europe Standard Time": ("(UTC+01:00) Amsterdam, Berlin, Bern, Rome", -60, _EU),
    "Romance Standard Time": ("(UTC+01:00) Brussels, Copenhagen, Madrid, Paris", -60, _EU),
    "Central Europe Standard Time": ("(UTC+01:00) Belgrade, Budapest, Prague", -60, _EU),
    "Eastern Standard Time": ("(UTC-05:00) Eastern Time (US & Canada)", 300, _US),
    "Central Standard Time": ("(UTC-06:00) Central Time (US & Canada)", 360, _US),
    "Pacific Standard Time": ("(UTC-08:00) Pacific Time (US & Canada)", 480, _US),
    "Tokyo Standard Time": ("(UTC+09:00) Osaka, Sapporo, Tokyo", -540, None),
    "India Standard Time": ("(UTC+05:30) Chennai, Kolkata, Mumbai, New Delhi", -330, None),
}


def _duration(minutes: int) -> str:
    sign, minutes = ("-" if minutes < 0 else ""), abs(minutes)
    hours, mins = divmod(minutes, 60)
    return f"{sign}PT{hours}H{mins}M" if mins else f"{sign}PT{hours}H"


def all_time_zones() -> dict[str, tuple[str, int, tuple | None]]:
    """Every Windows zone (timezones.py), with Windows' display names where known."""
    zones = {
        tz_id: (display_name(tz_id, bias), bias, rule)
        for tz_id, (_, bias, rule) in windows_zones(dt.datetime.now(dt.UTC).year).items()
    }
    zones.update(TIME_ZONES)
    return zones


def time_zone_definition(parent: etree._Element, tz_id: str) -> None:
    """Append a <t:TimeZoneDefinition> (Periods, TransitionsGroups, Transitions)."""
    name, bias, rule = all_time_zones()[tz_id]
    tzd = sub(parent, t("TimeZoneDefinition"), Name=name, Id=tz_id)
    periods = sub(tzd, t("Periods"))
    std_id = f"trule:Microsoft/Registry/{tz_id}/Standard"
    dst_id = f"trule:Microsoft/Registry/{tz_id}/Daylight"
    sub(periods, t("Period"), Bias=_duration(bias), Name="Standard", Id=std_id)
    group = sub(sub(tzd, t("TransitionsGroups")), t("TransitionsGroup"), Id="0")
    if rule is None:
        sub(sub(group, t("Transition")), t("To"), std_id, Kind="Period")
    else:
        dst_bias, to_dst, to_std = rule
        sub(periods, t("Period"), Bias=_duration(bias + dst_bias), Name="Daylight", Id=dst_id)
        for period, (month, occurrence, weekday, at) in ((dst_id, to_dst), (std_id, to_std)):
            tr = sub(group, t("RecurringDayTransition"))
            sub(tr, t("To"), period, Kind="Period")
            hh, mm = (int(x) for x in at.split(":"))
            sub(tr, t("TimeOffset"), _duration(hh * 60 + mm))
            sub(tr, t("Month"), str(month))
            sub(tr, t("DayOfWeek"), weekday)
            sub(tr, t("Occurrence"), str(occurrence))
    sub(sub(sub(tzd, t("Transitions")), t("Transition")), t("To"), "0", Kind="Group")
