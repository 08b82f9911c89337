"""The Windows time zones GetServerTimeZones describes: every zone Exchange lists (the Windows
ids of CLDR's mapping), with bias and daylight rules derived from the IANA database for the
current year. Display names of the common zones are Windows'; the others are built the same
way ("(UTC+hh:mm) …")."""

from __future__ import annotations

import calendar
import datetime as dt
import functools
from zoneinfo import ZoneInfo

from exchangelib.winzone import MS_TIMEZONE_TO_IANA_MAP

_DAY = dt.timedelta(days=1)
_HOUR = dt.timedelta(hours=1)


def _offset(zone: ZoneInfo, at: dt.datetime) -> int:
    return int(zone.utcoffset(at.replace(tzinfo=None)).total_seconds() // 60)


def _transitions(zone: ZoneInfo, year: int) -> list[tuple[dt.datetime, int, int]]:
    """(UTC instant, offset before, offset after) of each change in `year`."""
    out = []
    at = dt.datetime(year, 1, 1, tzinfo=dt.UTC)
    before = _offset(zone, at.astimezone(zone))
    while at.year == year:
        nxt = at + _DAY
        after = _offset(zone, nxt.astimezone(zone))
        if after != before:
            step = at
            while _offset(zone, (step + _HOUR).astimezone(zone)) == before:
                step += _HOUR
            out.append((step + _HOUR, before, after))
            before = after
        at = nxt
    return out


def _rule_part(instant: dt.datetime, old_offset: int) -> tuple[int, int, str, str]:
    local = (instant + dt.timedelta(minutes=old_offset)).replace(tzinfo=None)
    last_day = calendar.monthrange(local.year, local.month)[1]
    occurrence = -1 if local.day + 7 > last_day else (local.day - 1) // 7 + 1
    return local.month, occurrence, local.strftime("%A"), local.strftime("%H:%M")


@functools.cache
def windows_zones(year: int) -> dict[str, tuple[str | None, int, tuple | None]]:
    """id -> (display name or None, standard bias minutes, daylight rule or None)."""
    zones: dict[str, tuple[str | None, int, tuple | None]] = {}
    for tz_id, iana in sorted(MS_TIMEZONE_TO_IANA_MAP.items()):
        zone = ZoneInfo(iana)
        changes = _transitions(zone, year)
        if len(changes) != 2:  # no daylight saving (or an irregular year): fixed bias
            offset = _offset(zone, dt.datetime(year, 7, 1))
            zones[tz_id] = (None, -offset, None)
            continue
        standard = min(changes[0][1], changes[0][2])
        daylight = max(changes[0][1], changes[0][2])
        to_dst = next(c for c in changes if c[2] == daylight)
        to_std = next(c for c in changes if c[2] == standard)
        rule = (
            standard - daylight,
            _rule_part(to_dst[0], to_dst[1]),
            _rule_part(to_std[0], to_std[1]),
        )
        zones[tz_id] = (None, -standard, rule)
    return zones


def display_name(tz_id: str, bias: int) -> str:
    offset = -bias
    sign = "+" if offset >= 0 else "-"
    hours, minutes = divmod(abs(offset), 60)
    place = tz_id.removesuffix(" Standard Time")
    return f"(UTC{sign}{hours:02d}:{minutes:02d}) {place}"


def zone_for(tz_id: str | None) -> ZoneInfo | None:
    """The IANA zone of a Windows time zone id (what clients send in StartTimeZone), or None."""
    iana = MS_TIMEZONE_TO_IANA_MAP.get(tz_id or "")
    return ZoneInfo(iana) if iana else None
