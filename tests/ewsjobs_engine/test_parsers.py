"""CSV and iCalendar batches: good files, hostile files, and the JSON round trip of specs."""

import datetime as dt
from zoneinfo import ZoneInfo

import pytest

from connectivity.ewsjobs import (
    EventSpec,
    csvfiles,
    event_from_json,
    ics,
    parse_events_csv,
    parse_ics,
    parse_tasks_csv,
    task_from_json,
)

BERLIN = ZoneInfo("Europe/Berlin")


# --- events CSV --------------------------------------------------------------------------------
def test_events_csv_good():
    text = (
        "\ufeffSubject,Start,End,Location,Body,All_Day,tz\r\n"
        'Kick-off,2026-12-01 09:00,2026-12-01 10:30,"Room 1, floor 2","Line one\nline two",,\r\n'
        "Offsite,2026-12-03,2026-12-05,,,yes,Europe/Berlin\r\n"
        "Call,2026-12-02T15:00+00:00,2026-12-02T15:30+00:00,,,no,\r\n"
        ",,,,,,\r\n"
    )
    kickoff, offsite, call = parse_events_csv(text, default_tz="W. Europe Standard Time")
    assert kickoff.subject == "Kick-off" and kickoff.location == "Room 1, floor 2"
    assert kickoff.start == dt.datetime(2026, 12, 1, 9, tzinfo=BERLIN)
    assert kickoff.body == "Line one\nline two" and not kickoff.all_day
    assert offsite.all_day and offsite.start == dt.datetime(2026, 12, 3, tzinfo=BERLIN)
    assert offsite.end == dt.datetime(2026, 12, 5, tzinfo=BERLIN)
    assert call.start == dt.datetime(2026, 12, 2, 16, tzinfo=BERLIN)


def test_events_csv_semicolons_and_extra_columns():
    text = ("subject;start;end;reminder_minutes;categories\n"
            "Review;2026-12-01 09:00;2026-12-01 09:30;15;Board;Finance\n")  # fmt: skip
    with pytest.raises(ValueError, match="line 2: wrong number of columns"):
        parse_events_csv(text)
    text = ("subject;start;end;reminder_minutes;categories\n"
            'Review;2026-12-01 09:00;2026-12-01 09:30;15;"Board;Finance"\n')  # fmt: skip
    (review,) = parse_events_csv(text)
    assert review.reminder_minutes == 15 and review.categories == ["Board", "Finance"]
    assert review.start.tzinfo == dt.UTC


def test_events_csv_lists_every_bad_line_and_takes_nothing():
    text = (
        "subject,start,end\n"
        "Good,2026-12-01 09:00,2026-12-01 10:00\n"
        ",2026-12-01 09:00,2026-12-01 10:00\n"
        "Backwards,2026-12-01 10:00,2026-12-01 09:00\n"
        "Bad date,01/12/2026,2026-12-01 10:00\n"
        '"Two\nlines",2026-12-01 09:00,2026-12-01 10:00\n'
        "Zone,2026-12-01 09:00,2026-12-01 10:00,extra\n"
    )
    with pytest.raises(ValueError) as caught:
        parse_events_csv(text)
    words = str(caught.value)
    assert words.startswith("5 lines are wrong, nothing was taken")
    for expected in ("line 3: the subject is missing", "line 4: the event ends before it starts",
                     "line 5: the start is not a date", "line 7: the subject must be one line",
                     "line 8: wrong number of columns"):  # fmt: skip
        assert expected in words


@pytest.mark.parametrize(
    ("text", "words"),
    [
        ("", "file is empty"),
        ("subject,start\nA,2026-12-01\n", "missing: end"),
        ("subject,start,end,colour\n", "unknown or repeated columns: colour"),
        ("subject,start,end,end\n", "unknown or repeated columns"),
        ("subject,start,end\n", "no rows below its header"),
        ('subject,start,end\n"never closed,2026-12-01,2026-12-02\n', "not valid CSV"),
        (
            "subject,start,end,tz\nA,2026-12-01 09:00,2026-12-01 10:00,Mars/Olympus\n",
            "unknown time zone Mars/Olympus",
        ),
        ("subject,start,end\nA,2026-12-01 09:00,2026-12-01 10:00,\n", "wrong number of columns"),
    ],
)
def test_events_csv_hostile(text, words):
    with pytest.raises(ValueError, match=words):
        parse_events_csv(text)


def test_csv_limits():
    row = "A,2026-12-01 09:00,2026-12-01 10:00\n"
    with pytest.raises(ValueError, match="more than 5000 rows"):
        parse_events_csv("subject,start,end\n" + row * (csvfiles.MAX_ROWS + 1))
    with pytest.raises(ValueError, match="larger than 5 MB"):
        parse_events_csv("subject,start,end\n" + "x" * csvfiles.MAX_BYTES)
    many_bad = "subject,start,end\n" + "A,bad,bad\n" * 30
    with pytest.raises(ValueError, match="30 lines are wrong.*and 10 more"):
        parse_events_csv(many_bad)


# --- tasks CSV ---------------------------------------------------------------------------------
def test_tasks_csv_good_and_bad():
    text = ("subject,due,importance,body,reminder\n"
            "Renew certificate,2026-12-20,high,Before it expires,2026-12-18 09:00\n"
            "Tidy shared drive,,,,\n")  # fmt: skip
    renew, tidy = parse_tasks_csv(text, default_tz="Europe/Berlin")
    assert renew.due == dt.date(2026, 12, 20) and renew.importance == "High"
    assert renew.reminder == dt.datetime(2026, 12, 18, 9, tzinfo=BERLIN)
    assert tidy.due is None and tidy.importance == "Normal" and tidy.reminder is None
    bad = "subject,due,importance\nA,20/12/2026,Normal\nB,,urgent\n"
    with pytest.raises(ValueError) as caught:
        parse_tasks_csv(bad)
    assert "line 2: the due date is not a date" in str(caught.value)
    assert "line 3: the importance must be Low, Normal or High" in str(caught.value)


# --- iCalendar ---------------------------------------------------------------------------------
OUTLOOK = b"""BEGIN:VCALENDAR\r
PRODID:-//Microsoft Corporation//Outlook 16.0 MIMEDIR//EN\r
VERSION:2.0\r
BEGIN:VTIMEZONE\r
TZID:W. Europe Standard Time\r
BEGIN:STANDARD\r
DTSTART:16011028T030000\r
TZOFFSETFROM:+0200\r
TZOFFSETTO:+0100\r
END:STANDARD\r
END:VTIMEZONE\r
BEGIN:VEVENT\r
SUMMARY:Quarterly review\r
DTSTART;TZID="W. Europe Standard Time":20261201T090000\r
DTEND;TZID="W. Europe Standard Time":20261201T103000\r
LOCATION:Room 4\\, second floor\r
DESCRIPTION:Agenda:\\n1. Budget\\n2. Hiring and a long line that Outlook folds \r
 at seventy-five octets\r
CATEGORIES:Board,Finance\r
BEGIN:VALARM\r
TRIGGER:-PT15M\r
ACTION:DISPLAY\r
END:VALARM\r
END:VEVENT\r
BEGIN:VEVENT\r
SUMMARY:Holiday\r
DTSTART;VALUE=DATE:20261224\r
DTEND;VALUE=DATE:20261227\r
END:VEVENT\r
BEGIN:VEVENT\r
SUMMARY:Call with New York\r
DTSTART;TZID=America/New_York:20261202T100000\r
DURATION:PT45M\r
END:VEVENT\r
BEGIN:VEVENT\r
SUMMARY:UTC standup\r
DTSTART:20261203T080000Z\r
DTEND:20261203T081500Z\r
END:VEVENT\r
BEGIN:VTODO\r
SUMMARY:Not an event\r
END:VTODO\r
END:VCALENDAR\r
"""


def test_ics_outlook_export():
    review, holiday, call, standup = parse_ics(OUTLOOK)
    assert review.subject == "Quarterly review" and review.location == "Room 4, second floor"
    assert review.start == dt.datetime(2026, 12, 1, 9, tzinfo=BERLIN)
    assert review.start.tzinfo.key == "Europe/Berlin"
    assert review.body == ("Agenda:\n1. Budget\n2. Hiring and a long line that Outlook folds "
                           "at seventy-five octets")  # fmt: skip
    assert review.categories == ["Board", "Finance"] and review.reminder_minutes == 15
    assert holiday.all_day and (holiday.start.date(), holiday.end.date()) == (
        dt.date(2026, 12, 24), dt.date(2026, 12, 27))  # fmt: skip
    assert call.end - call.start == dt.timedelta(minutes=45)
    assert call.start.tzinfo.key == "America/New_York"
    assert standup.start == dt.datetime(2026, 12, 3, 8, tzinfo=dt.UTC)


def vcal(*lines: str) -> bytes:
    return ("BEGIN:VCALENDAR\r\n" + "\r\n".join(lines) + "\r\nEND:VCALENDAR\r\n").encode()


EVENT = ("BEGIN:VEVENT", "SUMMARY:A", "DTSTART:20261201T090000Z", "DTEND:20261201T100000Z")


@pytest.mark.parametrize(
    ("data", "words"),
    [
        (
            vcal(*EVENT, "RRULE:FREQ=WEEKLY;COUNT=5", "END:VEVENT"),
            "event at line 2: recurring events are not supported in a batch",
        ),
        (vcal(*EVENT, "RECURRENCE-ID:20261208T090000Z", "END:VEVENT"), "recurring events"),
        (vcal("BEGIN:VEVENT", "SUMMARY:A", "END:VEVENT"), "has no DTSTART"),
        (
            vcal("BEGIN:VEVENT", "DTSTART;TZID=Atlantis:20261201T090000", "END:VEVENT"),
            "unknown time zone Atlantis",
        ),
        (vcal("BEGIN:VEVENT", "SUMMARY:A", "DTSTART:2026-12-01", "END:VEVENT"), "not a date"),
        (
            vcal(
                "BEGIN:VEVENT",
                "SUMMARY:A",
                "DTSTART:20261201T100000Z",
                "DTEND:20261201T090000Z",
                "END:VEVENT",
            ),
            "ends before it starts",
        ),
        (
            vcal("BEGIN:VEVENT", "SUMMARY:Hi\\nBcc: x@y", "DTSTART:20261201T100000Z", "END:VEVENT"),
            "subject must be one line",
        ),
        (
            vcal(
                "BEGIN:VEVENT",
                "SUMMARY:A",
                "DTSTART:20261201T100000Z",
                "DURATION:forever",
                "END:VEVENT",
            ),
            "not a duration",
        ),
        (vcal(*EVENT), "line 6: END:VCALENDAR found while VEVENT is still open"),
        (b"BEGIN:VCALENDAR\r\nBEGIN:VEVENT\r\nSUMMARY:A\r\n", "the file ends inside VEVENT"),
        (vcal(*EVENT, "END:VTODO"), "END:VTODO found while VEVENT is still open"),
        (vcal(*["BEGIN:X"] * 10), "nested too deeply"),
        (vcal("garbage line without colon"), "line 2: the line is not NAME:value"),
        (vcal('X-A;P="unterminated:1'), "quoted parameter is not closed"),
        (vcal("VERSION:2.0"), "no events"),
        (b"BEGIN:VEVENT\r\nEND:VEVENT\r\n", "not an iCalendar file"),
        (b"BEGIN:VCALENDAR\r\nSUMMARY:\xff\xfe\r\nEND:VCALENDAR\r\n", "not UTF-8"),
        ("BEGIN:VCALENDAR", "must be bytes"),
    ],
)
def test_ics_hostile(data, words):
    with pytest.raises(ValueError, match=words):
        parse_ics(data)


def test_ics_limits_and_all_or_nothing():
    with pytest.raises(ValueError, match="larger than 5 MB"):
        parse_ics(b"BEGIN:VCALENDAR\r\n" + b"X" * ics.MAX_BYTES)
    many = vcal(*[line for _ in range(ics.MAX_EVENTS + 1) for line in (*EVENT, "END:VEVENT")])
    with pytest.raises(ValueError, match="more than 5000 events"):
        parse_ics(many)
    mixed = vcal(*EVENT, "END:VEVENT", "BEGIN:VEVENT", "SUMMARY:B", "END:VEVENT")
    expected = "1 problem in the file, nothing was taken: event at line 7: the event has no DTSTART"
    with pytest.raises(ValueError, match=expected):
        parse_ics(mixed)


# --- JSON round trip ---------------------------------------------------------------------------
def test_specs_round_trip_through_json():
    for spec in parse_ics(OUTLOOK):
        again = event_from_json(spec.as_json())
        assert again == spec and again.start.tzinfo == spec.start.tzinfo
    (task,) = parse_tasks_csv("subject,due,reminder\nA,2026-12-20,2026-12-18 09:00\n",
                              default_tz="Europe/Berlin")  # fmt: skip
    assert task_from_json(task.as_json()) == task
    naive = EventSpec("A", dt.datetime(2026, 12, 1, 9), dt.datetime(2026, 12, 1, 10)).as_json()
    naive["tz"] = ""
    with pytest.raises(ValueError, match="needs a time zone"):
        event_from_json(naive)
    with pytest.raises(ValueError, match="reminder must be 0 to 40320"):
        event_from_json({"subject": "A", "start": "2026-12-01T09:00Z",
                         "end": "2026-12-01T10:00Z", "reminder_minutes": -5})  # fmt: skip
