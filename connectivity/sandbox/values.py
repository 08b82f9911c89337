"""Value formats Exchange owns: what a client sends is stored the way Exchange answers it.

* xs:boolean arrives as ``1``/``0`` from some clients (exchangelib among them); Exchange always
  answers ``true``/``false`` — clients that compare text read anything else as "not set".
* Date-times are answered in UTC with a ``Z`` suffix whatever offset the client used.
* Subject is cut to 255 characters, as the store does.
* Calendar items get the properties Exchange computes: CalendarItemType, IsRecurring,
  IsMeeting, IsCancelled, MyResponseType, Organizer, Duration, AppointmentState.
"""

from __future__ import annotations

import datetime as dt
import re

from lxml import etree

from .soap import EWSError, local, t

SUBJECT_MAX = 255
# Boolean leaves of types.xsd that do not follow the Is*/Has*/Allow*/Prevent* naming.
_BOOLEANS = {"ReminderIsSet", "DoNotForwardMeeting", "HideAttendees", "IsResponseRequested"}
_BOOLEAN_NAME = re.compile(r"^(Is|Has|Allow|Prevent)[A-Z]")
_DATETIMES = {
    "Start", "End", "OriginalStart", "ReminderDueBy", "DateTimeSent", "DateTimeCreated",
    "DateTimeReceived", "LastModifiedTime", "AppointmentReplyTime", "StartDate", "DueDate",
    "CompleteDate", "AssignedTime", "LastResponseTime", "ProposedStart", "ProposedEnd",
}  # fmt: skip


def _is_boolean(name: str) -> bool:
    return name in _BOOLEANS or bool(_BOOLEAN_NAME.match(name))


def _utc(text: str) -> str | None:
    value = text.strip()
    if not re.match(r"^\d{4}-\d\d-\d\dT\d\d:\d\d", value):
        return None
    value = re.sub(r"(\.\d{6})\d+", r"\1", value.replace("Z", "+00:00"))
    try:
        parsed = dt.datetime.fromisoformat(value)
    except ValueError:
        return None
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=dt.UTC)
    return parsed.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def normalize(elem: etree._Element) -> etree._Element:
    """Rewrite boolean and date-time leaves of an item (and its attachments) in place."""
    for el in elem.iter():
        if not isinstance(el.tag, str) or len(el) or el.text is None:
            continue
        name = local(el)
        text = el.text.strip()
        if _is_boolean(name) and text in ("0", "1", "True", "False", "TRUE", "FALSE"):
            el.text = "true" if text in ("1", "True", "TRUE") else "false"
        elif name in _DATETIMES:
            utc = _utc(text)
            if utc:
                el.text = utc
    subject = elem.find(t("Subject"))
    if subject is not None and subject.text and len(subject.text) > SUBJECT_MAX:
        subject.text = subject.text[:SUBJECT_MAX]
    return elem


MAX_EVENT_DAYS = 5 * 365 + 1  # Exchange refuses a single event longer than five years


def check_calendar_item(elem: etree._Element) -> None:
    """Refuse what Exchange refuses in a calendar item it is asked to save (per item)."""
    if local(elem) != "CalendarItem":
        return
    start, end = _utc(elem.findtext(t("Start")) or ""), _utc(elem.findtext(t("End")) or "")
    if not (start and end):
        return
    delta = dt.datetime.fromisoformat(end[:-1]) - dt.datetime.fromisoformat(start[:-1])
    if delta < dt.timedelta(0):
        raise EWSError("ErrorCalendarEndDateIsEarlierThanStartDate",
                       "The end date is earlier than the start date.")  # fmt: skip
    if delta > dt.timedelta(days=MAX_EVENT_DAYS) and elem.find(t("Recurrence")) is None:
        raise EWSError("ErrorCalendarDurationIsTooLong",
                       "The duration of the calendar item is too long.")  # fmt: skip


def _set_default(elem: etree._Element, tag: str, text: str) -> None:
    if elem.find(t(tag)) is None:
        etree.SubElement(elem, t(tag)).text = text


def calendar_defaults(elem: etree._Element, organizer: str, organizer_name: str | None) -> None:
    """Properties Exchange computes for a calendar item it stores."""
    if local(elem) != "CalendarItem":
        return
    recurring = elem.find(t("Recurrence")) is not None
    _set_default(elem, "CalendarItemType", "RecurringMaster" if recurring else "Single")
    # Exchange reports IsRecurring false on a series master (true only on its occurrences).
    _set_default(elem, "IsRecurring", "false")
    attendees = any(
        elem.find(t(tag)) is not None for tag in ("RequiredAttendees", "OptionalAttendees")
    )
    _set_default(elem, "IsMeeting", "true" if attendees else "false")
    _set_default(elem, "IsCancelled", "false")
    _set_default(elem, "IsAllDayEvent", "false")
    _set_default(elem, "MyResponseType", "Organizer")
    _set_default(elem, "AppointmentState", "1" if attendees else "0")
    if elem.find(t("Organizer")) is None:
        org = etree.SubElement(elem, t("Organizer"))
        mbx = etree.SubElement(org, t("Mailbox"))
        etree.SubElement(mbx, t("Name")).text = organizer_name or organizer
        etree.SubElement(mbx, t("EmailAddress")).text = organizer
        etree.SubElement(mbx, t("RoutingType")).text = "SMTP"
    start, end = elem.findtext(t("Start")), elem.findtext(t("End"))
    if start and end:
        a, b = _utc(start), _utc(end)
        if a and b:
            delta = dt.datetime.fromisoformat(b[:-1]) - dt.datetime.fromisoformat(a[:-1])
            seconds = max(int(delta.total_seconds()), 0)
            duration = f"P{seconds // 86400}DT{seconds % 86400 // 3600}H{seconds % 3600 // 60}M0S"
            old = elem.find(t("Duration"))
            if old is not None:
                elem.remove(old)
            etree.SubElement(elem, t("Duration")).text = duration
