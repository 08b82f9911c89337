"""CSV batches of events and tasks: all or nothing, every bad line named with its number.

Events: a header row with ``subject,start,end`` and optionally ``location``, ``body``,
``all_day``, ``tz``, ``reminder_minutes``, ``categories`` (separated by ``;``). Tasks: ``subject``
and optionally ``due``, ``body``, ``importance``, ``reminder``, ``tz``. Dates are ISO
(``2026-12-01 09:30`` or with an offset); a time without offset is read in the row's ``tz``, or
else in ``default_tz``. Commas or semicolons separate the columns (what Excel writes depends on
the region).
"""

from __future__ import annotations

import csv
import io

from connectivity.i18n import N_, NN_, join

from .specs import EventSpec, TaskSpec, event_from_json, task_from_json

MAX_BYTES = 5 * 1024 * 1024
MAX_ROWS = 5000
MAX_LISTED = 20  # errors named in the message; the rest are counted
EVENT_COLUMNS = ("subject", "start", "end", "location", "body", "all_day", "tz",
                 "reminder_minutes", "categories")  # fmt: skip
TASK_COLUMNS = ("subject", "due", "body", "importance", "reminder", "tz")


def _rows(text: str, columns: tuple[str, ...], required: tuple[str, ...]):
    """(line number, row dict) for each data row; ValueError for the file as a whole."""
    if not isinstance(text, str):
        raise ValueError(N_("the file must be text"))
    if len(text.encode("utf-8", "surrogatepass")) > MAX_BYTES:
        raise ValueError(N_("the file is larger than %(mb)s MB", mb=MAX_BYTES // (1024 * 1024)))
    text = text.lstrip("\ufeff")
    first = text.split("\n", 1)[0]
    delimiter = ";" if first.count(";") > first.count(",") else ","
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter, strict=True)
    try:
        header = next(reader)
    except StopIteration:
        raise ValueError(N_("the file is empty")) from None
    except csv.Error:
        raise ValueError(N_("the header row is not valid CSV")) from None
    names = [h.strip().lower() for h in header]
    missing = [c for c in required if c not in names]
    if missing:
        raise ValueError(
            N_("the header row must name the columns %(required)s (missing: %(missing)s)",
               required=", ".join(required), missing=", ".join(missing))
        )  # fmt: skip
    unknown = [n for n in names if n not in columns]
    if unknown or len(set(names)) != len(names):
        raise ValueError(
            N_("the header row has unknown or repeated columns: %(names)s (known: %(known)s)",
               names=", ".join(unknown) or ", ".join(names), known=", ".join(columns))
        )  # fmt: skip
    line = 1
    try:
        for row in reader:
            line = reader.line_num
            if not any(cell.strip() for cell in row):
                continue
            if len(row) != len(names):
                yield line, None
                continue
            yield line, dict(zip(names, row, strict=True))
    except csv.Error:
        raise ValueError(N_("line %(line)s is not valid CSV (a quote is not closed?)",
                            line=reader.line_num or line)) from None  # fmt: skip


def _parse(text: str, columns, required, build, default_tz: str) -> list:
    specs, errors = [], []
    for line, row in _rows(text, columns, required):
        if len(specs) + len(errors) >= MAX_ROWS:
            raise ValueError(N_("the file has more than %(n)s rows", n=MAX_ROWS))
        if row is None:
            errors.append(N_("line %(line)s: wrong number of columns", line=line))
            continue
        if not row.get("tz"):
            row["tz"] = default_tz
        try:
            specs.append(build(row))
        except ValueError as exc:
            error = exc.args[0] if exc.args else exc
            errors.append(N_("line %(line)s: %(error)s", line=line, error=error))
    if errors:
        shown = join("; ", errors[:MAX_LISTED])
        more = len(errors) - MAX_LISTED
        if more > 0:
            shown = N_("%(list)s; and %(n)s more", list=shown, n=more)
        raise ValueError(NN_("%(n)s line is wrong, nothing was taken: %(list)s",
                             "%(n)s lines are wrong, nothing was taken: %(list)s",
                             len(errors), list=shown))  # fmt: skip
    if not specs:
        raise ValueError(N_("the file has no rows below its header"))
    return specs


def parse_events_csv(text: str, *, default_tz: str = "UTC") -> list[EventSpec]:
    return _parse(text, EVENT_COLUMNS, ("subject", "start", "end"), event_from_json, default_tz)


def parse_tasks_csv(text: str, *, default_tz: str = "UTC") -> list[TaskSpec]:
    return _parse(text, TASK_COLUMNS, ("subject",), task_from_json, default_tz)
