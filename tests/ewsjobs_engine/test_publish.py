"""Publishing events and creating tasks in batches, exactly once, with per-item outcomes."""

import datetime as dt
from zoneinfo import ZoneInfo

from exchangelib import CalendarItem, Task

from connectivity.ewsjobs import (
    EventSpec,
    TaskSpec,
    create_tasks,
    item_key,
    job_key_prefix,
    publish_events,
)
from connectivity.ewsjobs.props import KEY_FIELD

BERLIN = ZoneInfo("Europe/Berlin")


def events(n, first=dt.datetime(2026, 12, 7, 8, 0, tzinfo=BERLIN)):
    return [
        EventSpec(subject=f"Planning {i}", start=first + dt.timedelta(hours=i),
                  end=first + dt.timedelta(hours=i, minutes=45), location=f"Room {i % 7}")
        for i in range(n)
    ]  # fmt: skip


def run_batches(session, mailbox, job, specs, batch, check_existing, create=publish_events):
    outcomes = []
    for start in range(0, len(specs), batch):
        indexes = list(range(start, min(start + batch, len(specs))))
        keys = [item_key(job, mailbox, i) for i in indexes]
        chunk = [specs[i] for i in indexes]
        outcomes += create(session, mailbox, chunk, keys, indexes, check_existing)
    return outcomes


def keys_in(folder, job):
    return sorted(
        k for k in folder.filter(**{f"{KEY_FIELD}__startswith": job_key_prefix(job)})
        .values_list(KEY_FIELD, flat=True)
    )  # fmt: skip


def test_250_events_in_batches_then_again_all_existed(session, new_mailbox):
    mailbox = new_mailbox()
    specs = events(250)
    first = run_batches(session, mailbox, "job-250", specs, 100, check_existing=True)
    assert [o.status for o in first] == ["created"] * 250
    assert [o.index for o in first] == list(range(250))
    calendar = session.account(mailbox).calendar
    assert calendar.all().count() == 250
    expected = sorted(item_key("job-250", mailbox, i) for i in range(250))
    assert keys_in(calendar, "job-250") == expected

    again = run_batches(session, mailbox, "job-250", specs, 100, check_existing=True)
    assert [o.status for o in again] == ["existed"] * 250
    assert [o.key for o in again] == [o.key for o in first]
    assert calendar.all().count() == 250


def test_a_batch_cut_short_is_completed_exactly_once(session, new_mailbox):
    """A worker killed after part of a batch was created: the rerun creates only the rest."""
    mailbox = new_mailbox()
    specs = events(60)
    keys = [item_key("job-cut", mailbox, i) for i in range(60)]
    done = publish_events(session, mailbox, specs[:23], keys[:23], list(range(23)), False)
    assert {o.status for o in done} == {"created"}
    rerun = publish_events(session, mailbox, specs, keys, list(range(60)), True)
    assert [o.status for o in rerun] == ["existed"] * 23 + ["created"] * 37
    calendar = session.account(mailbox).calendar
    assert keys_in(calendar, "job-cut") == sorted(keys)
    # Another job (or another mailbox's keys) never counts as existing here.
    other = [item_key("job-other", mailbox, i) for i in range(3)]
    assert {o.status for o in publish_events(session, mailbox, specs[:3], other, [0, 1, 2], True)} \
        == {"created"}  # fmt: skip
    assert calendar.all().count() == 63


def test_event_fields_arrive_as_given(session, new_mailbox):
    mailbox = new_mailbox()
    spec = EventSpec(
        subject="Board meeting", start=dt.datetime(2026, 12, 9, 14, 30, tzinfo=BERLIN),
        end=dt.datetime(2026, 12, 9, 16, 0, tzinfo=BERLIN), location="Room 4",
        body="Agenda: budget", reminder_minutes=30, categories=["Board", "Finance"],
    )  # fmt: skip
    all_day = EventSpec(
        subject="Company holiday", start=dt.datetime(2026, 12, 24, tzinfo=BERLIN),
        end=dt.datetime(2026, 12, 27, tzinfo=BERLIN), all_day=True,
    )  # fmt: skip
    key = item_key("job-fields", mailbox, 0)
    key2 = item_key("job-fields", mailbox, 1)
    out = publish_events(session, mailbox, [spec, all_day], [key, key2], [0, 1], False)
    assert [o.status for o in out] == ["created", "created"]
    calendar = session.account(mailbox).calendar
    item = calendar.get(**{KEY_FIELD: key})
    assert isinstance(item, CalendarItem)
    assert item.subject == "Board meeting" and item.location == "Room 4"
    assert item.start == spec.start and item.end == spec.end
    assert item._start_timezone.key == "Europe/Berlin"
    assert "Agenda: budget" in item.body
    assert item.reminder_is_set and item.reminder_minutes_before_start == 30
    assert item.categories == ["Board", "Finance"]
    holiday = calendar.get(**{KEY_FIELD: key2})
    assert holiday.is_all_day
    assert (holiday.start, holiday.end) == (dt.date(2026, 12, 24), dt.date(2026, 12, 26))
    assert holiday.reminder_is_set is False


def test_per_item_errors_inside_the_bulk_result_are_mapped(session, new_mailbox):
    """Exchange refuses one item of the batch (an event longer than five years): that item
    fails with words, the others are created; an item exchangelib cannot even write fails
    without being sent."""
    mailbox = new_mailbox()
    specs = events(5)
    start = specs[2].start
    specs[2] = EventSpec("Forever", start, start + dt.timedelta(days=6 * 365))
    specs[4] = EventSpec("Backwards", specs[4].end, specs[4].start)
    keys = [item_key("job-bad", mailbox, i) for i in range(5)]
    out = publish_events(session, mailbox, specs, keys, list(range(5)), True)
    assert [o.status for o in out] == ["created", "created", "failed", "created", "failed"]
    assert "longer than Exchange allows" in out[2].error and "{" not in out[2].error
    assert "ends before it starts" in out[4].error
    calendar = session.account(mailbox).calendar
    assert keys_in(calendar, "job-bad") == sorted(keys[i] for i in (0, 1, 3))
    # The failed ones are tried again on a rerun (they do not exist), the rest existed.
    again = publish_events(session, mailbox, specs, keys, list(range(5)), True)
    assert [o.status for o in again] == ["existed", "existed", "failed", "existed", "failed"]


def test_tasks_in_batches_then_again_all_existed(session, new_mailbox):
    mailbox = new_mailbox()
    specs = [
        TaskSpec(subject=f"Review contract {i}", due=dt.date(2026, 12, 1) + dt.timedelta(days=i),
                 body="Check clause 4", importance=("Low", "Normal", "High")[i % 3],
                 reminder=dt.datetime(2026, 11, 30, 9, tzinfo=BERLIN) if i == 0 else None)
        for i in range(120)
    ]  # fmt: skip
    first = run_batches(session, mailbox, "job-tasks", specs, 50, True, create_tasks)
    assert [o.status for o in first] == ["created"] * 120
    tasks = session.account(mailbox).tasks
    assert tasks.all().count() == 120
    again = run_batches(session, mailbox, "job-tasks", specs, 50, True, create_tasks)
    assert [o.status for o in again] == ["existed"] * 120
    assert tasks.all().count() == 120
    task = tasks.get(**{KEY_FIELD: item_key("job-tasks", mailbox, 0)})
    assert isinstance(task, Task)
    assert task.subject == "Review contract 0" and task.due_date == dt.date(2026, 12, 1)
    assert task.importance == "Low" and "clause 4" in task.body
    assert task.reminder_is_set and task.reminder_due_by == specs[0].reminder
    assert tasks.get(**{KEY_FIELD: item_key("job-tasks", mailbox, 2)}).importance == "High"


def test_keys_are_stable_short_and_distinct():
    key = item_key("42", "User1@Contoso.example", 7)
    assert key == item_key("42", "user1@contoso.example", 7)
    assert len(key) <= 40 and key.startswith(job_key_prefix("42"))
    keys = {item_key(j, m, i) for j in ("42", "43") for m in ("a@x", "b@x") for i in range(50)}
    assert len(keys) == 200


def test_one_request_per_batch_and_one_lookup_when_checking(session, new_mailbox, admin):
    """A warm Session spends one CreateItem per batch, plus one FindItem with check_existing:
    no folder lookups per mailbox (the calendar is addressed by its well-known name)."""
    warm = new_mailbox()
    publish_events(session, warm, events(1), [item_key("job-n", warm, 0)], [0], False)
    for check, expected in ((False, 1), (True, 2)):
        mailbox = new_mailbox()
        keys = [item_key("job-n", mailbox, i) for i in range(100)]
        before = admin.state()["stats"]["ews_requests"]
        out = publish_events(session, mailbox, events(100), keys, list(range(100)), check)
        assert admin.state()["stats"]["ews_requests"] - before == expected
        assert {o.status for o in out} == {"created"}
