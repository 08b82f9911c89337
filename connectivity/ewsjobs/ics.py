"""iCalendar (.ics, RFC 5545) batches of events: VEVENTs only, all or nothing.

Read: SUMMARY, DTSTART / DTEND (or DURATION) as a date (``VALUE=DATE``: an all-day event), UTC
(``...Z``), local with ``TZID`` (IANA or Windows names, as Outlook writes them) or floating
(read in ``default_tz``), LOCATION, DESCRIPTION, CATEGORIES, and a VALARM's relative TRIGGER
as the reminder. Recurring events (RRULE, RDATE, EXDATE, RECURRENCE-ID) are refused: a batch
publishes single events. Other components (VTIMEZONE, VTODO, ...) are skipped.
"""

from __future__ import annotations

import datetime as dt
import re

from connectivity.i18n import N_, NN_, join

from .specs import EventSpec, event_from_json, in_range, zone

MAX_BYTES = 5 * 1024 * 1024
MAX_EVENTS = 5000
MAX_DEPTH = 8
MAX_LISTED = 20
RECURRENCE = ("RRULE", "RDATE", "EXDATE", "RECURRENCE-ID")
_NAME = re.compile(r"^[A-Za-z0-9-]+$")
_DURATION = re.compile(r"^([+-])?P(?:(\d+)W)?(?:(\d+)D)?(?:T(?:(\d+)H)?(?:(\d+)M)?(?:(\d+)S)?)?$")
_ESCAPES = {"n": "\n", "N": "\n", "\\": "\\", ";": ";", ",": ","}


def _unfold(text: str) -> list[tuple[int, str]]:
    """Logical lines with the number of their first physical line."""
    out: list[tuple[int, str]] = []
    for number, raw in enumerate(text.replace("\r\n", "\n").replace("\r", "\n").split("\n"), 1):
        if raw[:1] in (" ", "\t") and out:
            out[-1] = (out[-1][0], out[-1][1] + raw[1:])
        elif raw.strip():
            out.append((number, raw))
    return out


def _split(line: str) -> tuple[str, dict[str, str], str]:
    """NAME;PARAM=VALUE;PARAM="quoted":value -> (NAME, {PARAM: VALUE}, value)."""
    params: dict[str, str] = {}
    i, n = 0, len(line)
    while i < n and line[i] not in ";:":
        i += 1
    name = line[:i].upper()
    while i < n and line[i] == ";":
        j = line.find("=", i)
        if j < 0:
            raise ValueError(N_("a parameter has no value"))
        key = line[i + 1 : j].upper()
        i = j + 1
        if i < n and line[i] == '"':
            k = line.find('"', i + 1)
            if k < 0:
                raise ValueError(N_("a quoted parameter is not closed"))
            value, i = line[i + 1 : k], k + 1
        else:
            k = i
            while k < n and line[k] not in ";:":
                k += 1
            value, i = line[i:k], k
        params[key] = value
    if i >= n or line[i] != ":" or not _NAME.match(name or "-"):
        raise ValueError(N_("the line is not NAME:value"))
    return name, params, line[i + 1 :]


def _text(value: str) -> str:
    return re.sub(r"\\(.)", lambda m: _ESCAPES.get(m.group(1), m.group(1)), value)


def _when(value: str, params: dict[str, str], default_tz: str) -> tuple[dt.datetime, bool]:
    """(aware datetime, is a date) of a DTSTART/DTEND value."""
    value = value.strip()
    if params.get("VALUE", "").upper() == "DATE" or re.fullmatch(r"\d{8}", value):
        try:
            day = dt.datetime.strptime(value, "%Y%m%d")
        except ValueError:
            raise ValueError(N_("%(value)s is not a date (YYYYMMDD)", value=value[:40])) from None
        in_range(day, N_("the date"))
        return day.replace(tzinfo=zone(params.get("TZID") or default_tz)), True
    try:
        moment = dt.datetime.strptime(value.rstrip("Zz"), "%Y%m%dT%H%M%S")
    except ValueError:
        raise ValueError(
            N_("%(value)s is not a date and time (YYYYMMDDTHHMMSS)", value=value[:40])
        ) from None
    in_range(moment, N_("the date"))
    if value[-1:] in "Zz":
        return moment.replace(tzinfo=dt.UTC), False
    return moment.replace(tzinfo=zone(params.get("TZID") or default_tz)), False


def _duration(value: str) -> dt.timedelta:
    found = _DURATION.match(value.strip().upper())
    if not found or not any(found.groups()[1:]):
        raise ValueError(N_("%(value)s is not a duration (such as PT1H or P1D)", value=value[:40]))
    sign, weeks, days, hours, minutes, seconds = found.groups()
    delta = dt.timedelta(weeks=int(weeks or 0), days=int(days or 0), hours=int(hours or 0),
                         minutes=int(minutes or 0), seconds=int(seconds or 0))  # fmt: skip
    return -delta if sign == "-" else delta


class _Event:
    def __init__(self, line: int):
        self.line = line
        self.props: dict[str, tuple[dict[str, str], str]] = {}
        self.categories: list[str] = []
        self.reminder: int | None = None

    def spec(self, default_tz: str) -> EventSpec:
        for name in RECURRENCE:
            if name in self.props:
                raise ValueError(N_("recurring events are not supported in a batch"))
        if "DTSTART" not in self.props:
            raise ValueError(N_("the event has no DTSTART"))
        start, all_day = _when(self.props["DTSTART"][1], self.props["DTSTART"][0], default_tz)
        if "DTEND" in self.props:
            end, _ = _when(self.props["DTEND"][1], self.props["DTEND"][0], default_tz)
        elif "DURATION" in self.props:
            try:
                end = in_range(start + _duration(self.props["DURATION"][1]), N_("the end"))
            except OverflowError:  # weeks beyond any calendar
                raise ValueError(N_("the duration is too long")) from None
        else:  # RFC 5545: a date lasts one day, a date-time no time at all
            end = start + dt.timedelta(days=1) if all_day else start
        # Subject and location must be one line (event_from_json refuses line breaks).
        return event_from_json({
            "subject": _text(self.props.get("SUMMARY", ({}, ""))[1]).strip(),
            "start": start, "end": end, "all_day": all_day,
            "location": _text(self.props.get("LOCATION", ({}, ""))[1]).strip(),
            "body": _text(self.props.get("DESCRIPTION", ({}, ""))[1]),
            "categories": self.categories, "reminder_minutes": self.reminder,
        })  # fmt: skip


def _alarm(event: _Event, params: dict[str, str], value: str) -> None:
    if params.get("VALUE", "DURATION").upper() != "DURATION" or params.get("RELATED", "START") \
            .upper() != "START":  # fmt: skip
        return  # absolute or end-relative triggers are not a "minutes before start"
    before = -_duration(value)
    if before >= dt.timedelta(0):
        event.reminder = min(int(before.total_seconds() // 60), 40_320)


def parse_ics(data: bytes, *, default_tz: str = "UTC") -> list[EventSpec]:
    """Every VEVENT of an iCalendar file as an EventSpec; ValueError naming each bad line."""
    if not isinstance(data, bytes | bytearray):
        raise ValueError(N_("the file must be bytes"))
    if len(data) > MAX_BYTES:
        raise ValueError(N_("the file is larger than %(mb)s MB", mb=MAX_BYTES // (1024 * 1024)))
    try:
        text = bytes(data).decode("utf-8-sig")
    except UnicodeDecodeError:
        raise ValueError(N_("the file is not UTF-8 text")) from None
    lines = _unfold(text)
    if not lines or lines[0][1].strip().upper() != "BEGIN:VCALENDAR":
        raise ValueError(N_("this is not an iCalendar file (it must start with BEGIN:VCALENDAR)"))
    stack: list[str] = []
    events: list[_Event] = []
    errors = []
    current: _Event | None = None
    for number, line in lines:
        try:
            name, params, value = _split(line)
        except ValueError as exc:
            errors.append(N_("line %(line)s: %(error)s", line=number, error=exc.args[0]))
            continue
        if name == "BEGIN":
            stack.append(value.strip().upper())
            if len(stack) > MAX_DEPTH:
                raise ValueError(N_("line %(line)s: components are nested too deeply", line=number))
            if stack[-1] == "VEVENT" and stack[:-1] == ["VCALENDAR"]:
                current = _Event(number)
                if len(events) >= MAX_EVENTS:
                    raise ValueError(N_("the file has more than %(n)s events", n=MAX_EVENTS))
                events.append(current)
            continue
        if name == "END":
            if not stack or stack[-1] != value.strip().upper():
                errors.append(N_("line %(line)s: END:%(name)s found while %(open)s is still open",
                                 line=number, name=value.strip()[:40],
                                 open=stack[-1][:40] if stack else "nothing"))  # fmt: skip
                break
            if stack.pop() == "VEVENT":
                current = None
            continue
        if current is None:
            continue  # calendar properties, time zones, to-dos: not events
        try:
            if stack[-1] == "VALARM" and name == "TRIGGER":
                _alarm(current, params, value)
            elif stack[-1] == "VEVENT" and name == "CATEGORIES":
                current.categories += [c for c in (_text(v).strip() for v in
                                       re.split(r"(?<!\\),", value)) if c]  # fmt: skip
            elif stack[-1] == "VEVENT" and name not in current.props:
                current.props[name] = (params, value)
        except ValueError as exc:
            errors.append(N_("line %(line)s: %(error)s", line=number, error=exc.args[0]))
    if stack and not errors:
        errors.append(N_("the file ends inside %(name)s (END is missing)", name=stack[-1][:40]))
    specs = []
    for event in events:
        try:
            specs.append(event.spec(default_tz))
        except ValueError as exc:
            errors.append(N_("event at line %(line)s: %(error)s", line=event.line,
                             error=exc.args[0] if exc.args else exc))  # fmt: skip
    if errors:
        shown = join("; ", errors[:MAX_LISTED])
        if len(errors) > MAX_LISTED:
            shown = N_("%(list)s; and %(n)s more", list=shown, n=len(errors) - MAX_LISTED)
        raise ValueError(NN_("%(n)s problem in the file, nothing was taken: %(list)s",
                             "%(n)s problems in the file, nothing was taken: %(list)s",
                             len(errors), list=shown))  # fmt: skip
    if not specs:
        raise ValueError(N_("the file has no events (VEVENT)"))
    return specs
