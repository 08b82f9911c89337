"""Creating a batch of calendar events or tasks in one mailbox, exactly once.

One CreateItem request per call (the caller chooses the batch size, 100 is a good one). With
``check_existing`` one FindItem first asks which of the batch's keys already exist (a
restriction on our key property), and only the missing items are created: a batch sent again
after a worker was killed, or after Busy, never creates an item twice.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import asdict, dataclass

from exchangelib import CalendarItem, EWSDate, EWSDateTime, EWSTimeZone, Q, Task
from exchangelib.folders import Calendar, Tasks
from exchangelib.items import SAVE_ONLY, SEND_TO_NONE

from connectivity.i18n import N_

from .errors import ews_call, explain, raise_for_results
from .props import KEY_FIELD, CreateItems, find_items, one_request
from .session import Session
from .specs import SUBJECT_MAX, EventSpec, TaskSpec

CREATED, EXISTED, FAILED, DONE = "created", "existed", "failed", "done"
MAX_BATCH = 500  # a CreateItem of more items risks Exchange's one-minute budget per request


@dataclass
class ItemOutcome:
    index: int
    key: str  # the item key (publishing) or the item id (actions)
    status: str  # created | existed | failed (publishing); done | existed | failed (actions)
    error: str = ""  # words for people when failed

    def as_json(self) -> dict:
        return asdict(self)


def ews_datetime(value: dt.datetime) -> EWSDateTime:
    """An exchangelib date-time in the value's own zone (sent with its Windows zone id), or in
    UTC when the zone has no Windows equivalent (a bare offset)."""
    if value.tzinfo is None:
        raise ValueError(N_("a date and time without time zone"))
    try:
        tz = EWSTimeZone.from_timezone(value.tzinfo)
    except Exception:  # noqa: BLE001 - any zone exchangelib cannot map is sent as UTC
        tz = EWSTimeZone("UTC")
        value = value.astimezone(dt.UTC)
    return EWSDateTime.from_datetime(value.replace(tzinfo=None)).replace(tzinfo=tz)


def _writable(spec) -> None:
    """What exchangelib refuses while it writes the request (which would fail the whole
    batch) fails this item alone. Checked here rather than by a second ``item.clean()``: that
    costs as much CPU as writing the item, and the request writer cleans it anyway."""
    if len(spec.subject or "") > SUBJECT_MAX or len(getattr(spec, "location", "")) > SUBJECT_MAX:
        raise ValueError(N_("the subject or location is longer than %(n)s characters",
                            n=SUBJECT_MAX))  # fmt: skip
    if isinstance(spec, EventSpec) and spec.end < spec.start:
        raise ValueError(N_("the event ends before it starts"))
    if isinstance(spec, EventSpec) and (spec.reminder_minutes or 0) < 0:
        raise ValueError(N_("the reminder must be 0 to 40320 minutes before the start"))


def _event_item(account, folder, spec: EventSpec, key: str) -> CalendarItem:
    item = CalendarItem(
        account=account, folder=folder, subject=spec.subject,
        start=ews_datetime(spec.start), end=ews_datetime(spec.end),
        location=spec.location or None, body=spec.body or None, is_all_day=bool(spec.all_day),
        legacy_free_busy_status="Free" if spec.all_day else "Busy",
        reminder_is_set=spec.reminder_minutes is not None,
        reminder_minutes_before_start=spec.reminder_minutes or 0,
        categories=list(spec.categories) or None, **{KEY_FIELD: key},
    )  # fmt: skip
    _writable(spec)
    # Start and end go out with their own time zones (exchangelib's bulk path skips this).
    item.clean_timezone_fields(version=account.version)
    return item


def _task_item(account, folder, spec: TaskSpec, key: str) -> Task:
    reminder = ews_datetime(spec.reminder) if spec.reminder else None
    task = Task(
        account=account, folder=folder, subject=spec.subject,
        due_date=EWSDate.from_date(spec.due) if spec.due else None, body=spec.body or None,
        importance=spec.importance or "Normal", reminder_is_set=reminder is not None,
        reminder_due_by=reminder, **{KEY_FIELD: key},
    )  # fmt: skip
    _writable(spec)
    return task


def existing_keys(folder, keys: list[str]) -> set[str]:
    """Which of ``keys`` already exist in ``folder``: one FindItem restricted on the key."""
    if not keys:
        return set()
    size = min(2 * len(keys) + 10, 1000)  # one page, even if duplicates exist
    found = find_items(folder, Q(**{f"{KEY_FIELD}__in": list(keys)}), [KEY_FIELD], size=size)
    return {getattr(item, KEY_FIELD, None) for item in found} - {None}


def _check(specs: list, keys: list[str], indexes: list[int]) -> None:
    if not len(specs) == len(keys) == len(indexes):
        raise ValueError("specs, keys and indexes must have the same length")
    if len(set(keys)) != len(keys):
        raise ValueError("keys must be unique within a batch")
    if len(specs) > MAX_BATCH:
        raise ValueError(f"at most {MAX_BATCH} items per call")


def _publish(session: Session, mailbox: str, specs, keys, indexes, check_existing: bool,
             folder_cls, build) -> list[ItemOutcome]:  # fmt: skip
    _check(specs, keys, indexes)
    outcomes: dict[int, ItemOutcome] = {}
    with ews_call(mailbox):
        account = session.account(mailbox)
        folder = session.well_known(mailbox, folder_cls)
        existing = existing_keys(folder, keys) if check_existing else set()
        items, sent = [], []
        for position, (spec, key, index) in enumerate(zip(specs, keys, indexes, strict=True)):
            if key in existing:
                outcomes[position] = ItemOutcome(index, key, EXISTED)
                continue
            try:
                items.append(build(account, folder, spec, key))
            except ValueError as exc:  # a value exchangelib cannot send: this item only
                outcomes[position] = ItemOutcome(index, key, FAILED, explain(exc))
                continue
            sent.append(position)
        results = one_request(
            CreateItems, account, len(items), items=items, folder=folder,
            message_disposition=SAVE_ONLY, send_meeting_invitations=SEND_TO_NONE,
        )  # fmt: skip
    if len(results) != len(items):
        raise RuntimeError(f"Exchange answered {len(results)} results for {len(items)} items")
    raise_for_results(results, mailbox)
    for position, result in zip(sent, results, strict=True):
        index, key = indexes[position], keys[position]
        if isinstance(result, BaseException):
            outcomes[position] = ItemOutcome(index, key, FAILED, explain(result))
        else:
            outcomes[position] = ItemOutcome(index, key, CREATED)
    return [outcomes[p] for p in range(len(specs))]


def publish_events(
    session: Session, mailbox: str, events: list[EventSpec], keys: list[str],
    indexes: list[int], check_existing: bool,
) -> list[ItemOutcome]:  # fmt: skip
    """Create ``events`` in the mailbox's calendar, one outcome per event in order.

    Raises Busy (throttled: nothing is known to be done, send the batch again with
    ``check_existing``) and MailboxError (the mailbox cannot be worked)."""
    return _publish(session, mailbox, events, keys, indexes, check_existing,
                    Calendar, _event_item)  # fmt: skip


def create_tasks(
    session: Session, mailbox: str, tasks: list[TaskSpec], keys: list[str],
    indexes: list[int], check_existing: bool,
) -> list[ItemOutcome]:  # fmt: skip
    """Create ``tasks`` in the mailbox's Tasks folder (as :func:`publish_events`)."""
    return _publish(session, mailbox, tasks, keys, indexes, check_existing,
                    Tasks, _task_item)  # fmt: skip
