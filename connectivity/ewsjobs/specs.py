"""What a job creates: calendar events and tasks, as plain values with a JSON round trip.

The portal stores a job's parameters as JSON; ``spec.as_json()`` and ``event_from_json`` /
``task_from_json`` turn one into the other without loss (a time zone travels by its name).
``*_from_json`` validates (it is also the entry point for a single event typed in a form) and
raises ValueError whose message is a sentence for people.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from exchangelib.winzone import MS_TIMEZONE_TO_IANA_MAP

from connectivity.i18n import N_

SUBJECT_MAX = 255
LOCATION_MAX = 255
BODY_MAX = 64_000
CATEGORY_MAX = 255
IMPORTANCE = ("Low", "Normal", "High")
UTC = dt.UTC
# Exchange keeps dates from 1601 (its FILETIME epoch) to 4500 (Outlook's "no date" is 4501);
# outside that, a zone shift or the day added to an all-day end overflows Python's datetime.
FIRST_YEAR, LAST_YEAR = 1601, 4500


def zone(name: str) -> dt.tzinfo:
    """A time zone from an IANA name (Europe/Berlin) or a Windows name (W. Europe Standard
    Time); ValueError with words when neither."""
    name = (name or "").strip().strip('"')
    if name.upper() in ("UTC", "Z", "GMT", "ETC/UTC"):
        return UTC
    iana = MS_TIMEZONE_TO_IANA_MAP.get(name, name)
    try:
        if "/" not in iana and iana not in ("UTC", "GMT"):
            raise ZoneInfoNotFoundError(iana)
        return ZoneInfo(iana)
    except (ZoneInfoNotFoundError, ValueError):
        raise ValueError(
            N_("unknown time zone %(name)s (use an IANA name such as Europe/Berlin or a Windows "
               "name such as W. Europe Standard Time)", name=name[:64])
        ) from None  # fmt: skip


def zone_name(value: dt.datetime) -> str:
    tz = value.tzinfo
    if isinstance(tz, ZoneInfo):
        return tz.key
    return "UTC"


def _clean_text(value, label: str, limit: int, *, header: bool = True) -> str:
    text = "" if value is None else str(value)
    if header and ("\r" in text or "\n" in text):
        raise ValueError(N_("%(field)s must be one line (line breaks are refused)", field=label))
    if "\x00" in text:
        raise ValueError(N_("%(field)s contains a NUL character", field=label))
    if len(text) > limit:
        raise ValueError(
            N_("%(field)s is longer than %(limit)s characters", field=label, limit=limit)
        )
    return text.strip() if header else text


def in_range(value: dt.date, label: str) -> dt.date:
    """The date (or date and time) unchanged, or ValueError when Exchange cannot keep it."""
    if not FIRST_YEAR <= value.year <= LAST_YEAR:
        raise ValueError(
            N_("%(field)s must be between the years %(first)s and %(last)s", field=label,
               first=FIRST_YEAR, last=LAST_YEAR)
        )  # fmt: skip
    return value


def _aware(value, label: str, tz_name: str = "") -> dt.datetime:
    if isinstance(value, str):
        try:
            value = dt.datetime.fromisoformat(value.strip())
        except ValueError:
            raise ValueError(
                N_("%(field)s is not a date and time (use 2026-12-01T09:30 or "
                   "2026-12-01T09:30+01:00)", field=label)
            ) from None  # fmt: skip
    if not isinstance(value, dt.datetime):
        raise ValueError(N_("%(field)s is missing", field=label))
    in_range(value, label)
    if tz_name:
        tz = zone(tz_name)
        value = value.replace(tzinfo=tz) if value.tzinfo is None else value.astimezone(tz)
    elif value.tzinfo is None:
        raise ValueError(N_("%(field)s needs a time zone", field=label))
    return value


@dataclass
class EventSpec:
    subject: str
    start: dt.datetime  # aware
    end: dt.datetime  # aware; for an all-day event the day after the last day (as in iCalendar)
    location: str = ""
    body: str = ""
    all_day: bool = False
    reminder_minutes: int | None = None
    categories: list[str] = field(default_factory=list)

    def as_json(self) -> dict:
        return {
            "subject": self.subject, "start": self.start.isoformat(), "end": self.end.isoformat(),
            "tz": zone_name(self.start), "location": self.location, "body": self.body,
            "all_day": self.all_day, "reminder_minutes": self.reminder_minutes,
            "categories": list(self.categories),
        }  # fmt: skip


@dataclass
class TaskSpec:
    subject: str
    due: dt.date | None = None
    body: str = ""
    importance: str = "Normal"
    reminder: dt.datetime | None = None  # aware

    def as_json(self) -> dict:
        return {
            "subject": self.subject, "due": self.due.isoformat() if self.due else None,
            "body": self.body, "importance": self.importance,
            "reminder": self.reminder.isoformat() if self.reminder else None,
            "tz": zone_name(self.reminder) if self.reminder else "",
        }  # fmt: skip


def _categories(value) -> list[str]:
    if value in (None, ""):
        return []
    if isinstance(value, str):
        value = [c for c in value.split(";")]
    if not isinstance(value, list | tuple) or len(value) > 25:
        raise ValueError(N_("categories must be a list of at most 25 names"))
    names = [_clean_text(c, N_("a category"), CATEGORY_MAX) for c in value]
    return [c for c in names if c]


def _bool(value, label: str) -> bool:
    if isinstance(value, bool):
        return value
    text = str(value or "").strip().lower()
    if text in ("", "0", "false", "no", "n"):
        return False
    if text in ("1", "true", "yes", "y"):
        return True
    raise ValueError(N_("%(field)s must be yes or no", field=label))


def event_from_json(d: dict) -> EventSpec:
    """Validate a JSON object into an EventSpec (ValueError with words)."""
    if not isinstance(d, dict):
        raise ValueError(N_("an event must be an object with subject, start and end"))
    subject = _clean_text(d.get("subject"), N_("the subject"), SUBJECT_MAX)
    if not subject:
        raise ValueError(N_("the subject is missing"))
    tz_name = str(d.get("tz") or "")
    start = _aware(d.get("start"), N_("the start"), tz_name)
    end = _aware(d.get("end"), N_("the end"), tz_name)
    all_day = _bool(d.get("all_day"), N_("the all-day setting"))
    if all_day:
        start = start.replace(hour=0, minute=0, second=0, microsecond=0)
        if end.time() != dt.time(0):
            end = end.replace(hour=0, minute=0, second=0, microsecond=0) + dt.timedelta(days=1)
        end = max(end, start + dt.timedelta(days=1))
    if end < start:
        raise ValueError(N_("the event ends before it starts"))
    reminder = d.get("reminder_minutes")
    if reminder not in (None, ""):
        try:
            reminder = int(reminder)
        except (TypeError, ValueError):
            reminder = -1
        if not 0 <= reminder <= 40_320:  # Outlook offers at most four weeks
            raise ValueError(N_("the reminder must be 0 to 40320 minutes before the start"))
    else:
        reminder = None
    return EventSpec(
        subject=subject, start=start, end=end,
        location=_clean_text(d.get("location"), N_("the location"), LOCATION_MAX),
        body=_clean_text(d.get("body"), N_("the body"), BODY_MAX, header=False),
        all_day=all_day, reminder_minutes=reminder, categories=_categories(d.get("categories")),
    )  # fmt: skip


def task_from_json(d: dict) -> TaskSpec:
    if not isinstance(d, dict):
        raise ValueError(N_("a task must be an object with at least a subject"))
    subject = _clean_text(d.get("subject"), N_("the subject"), SUBJECT_MAX)
    if not subject:
        raise ValueError(N_("the subject is missing"))
    due = d.get("due")
    if isinstance(due, str) and due.strip():
        try:
            due = dt.date.fromisoformat(due.strip()[:10])
        except ValueError:
            raise ValueError(N_("the due date is not a date (use 2026-12-31)")) from None
    elif not isinstance(due, dt.date):
        due = None
    if due is not None:
        in_range(due, N_("the due date"))
    importance = str(d.get("importance") or "Normal").strip().capitalize()
    if importance not in IMPORTANCE:
        raise ValueError(N_("the importance must be Low, Normal or High"))
    reminder = d.get("reminder")
    reminder = _aware(reminder, N_("the reminder"), str(d.get("tz") or "")) if reminder else None
    return TaskSpec(
        subject=subject, due=due, importance=importance, reminder=reminder,
        body=_clean_text(d.get("body"), N_("the body"), BODY_MAX, header=False),
    )  # fmt: skip
