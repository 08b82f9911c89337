"""EWS jobs through real `celery worker` processes against the sandbox Exchange: each kind end
to end, kill -9 mid-publish then exactly once, back-off, a budget shared by two workers, cancel."""

import collections

import pytest
from django.utils import timezone

from portal.audit.models import AuditEvent
from portal.ewsjobs import finish
from portal.ewsjobs.models import Chunk, EwsJob, Target
from portal.jobs.models import Job
from portal.jobs.tasks import reap_stale_task
from tests.ewsjobs.world import FAST, events, session_for, start_job, subjects
from tests.jobs.helpers import Worker, wait_for


def _ended(ewsjob, timeout=120):
    ok = wait_for(lambda: Job.objects.get(pk=ewsjob.pk).is_done, timeout, interval=0.3)
    ewsjob.refresh_from_db()
    ewsjob.job.refresh_from_db()
    return ok


@pytest.fixture
def worker(tmp_path):
    w = Worker(tmp_path / "w.log", "w", **FAST)
    w.wait_ready()
    yield w
    w.stop()


def test_publish_puts_every_event_once_in_every_mailbox(world, worker):
    ewsjob = start_job(world, "publish", {"events": events(12, "Townhall")})
    assert _ended(ewsjob), worker.text()
    assert ewsjob.job.status == Job.Status.SUCCEEDED, ewsjob.job.message
    assert (ewsjob.done, ewsjob.failed, ewsjob.total) == (36, 0, 36)
    assert ewsjob.job.message == "Items in place: 36 of 36 (mailboxes: 3)."
    for box in world["boxes"]:
        got = collections.Counter(subjects(world, box, prefix="Townhall "))
        assert got == {f"Townhall {i}": 1 for i in range(12)}, box
    assert {t.status for t in ewsjob.targets.all()} == {Target.Status.DONE}
    finished = AuditEvent.objects.get(action="ewsjob.finish", target_id=str(ewsjob.pk))
    assert finished.result == "success" and finished.after["done"] == 36
    assert AuditEvent.objects.filter(action="job.start", target_id=str(ewsjob.pk)).count() == 1


def test_tasks_search_and_a_rule_with_its_dry_run(world, worker):
    box = world["boxes"][1]
    tasks = start_job(world, "tasks", {"tasks": [{"subject": f"Review {i}"} for i in range(7)]},
                      targets=[box])  # fmt: skip
    assert _ended(tasks) and tasks.job.status == Job.Status.SUCCEEDED, tasks.job.message
    assert sorted(subjects(world, box, "tasks", "Review ")) == [f"Review {i}" for i in range(7)]

    # Messages to find: the sandbox seeds Inbox items; send two with a known subject.
    with session_for(world) as s:
        from exchangelib import Message

        account = s.account(box)
        for n in range(2):
            Message(account=account, folder=account.inbox, subject=f"Invoice {n} overdue",
                    body="pay").save()  # fmt: skip
    search = start_job(world, "search", {"criteria": {"subject": "Invoice"}}, targets=[box])
    assert _ended(search) and search.job.status == Job.Status.SUCCEEDED, search.job.message
    assert sorted(search.results.values_list("subject", flat=True)) == [
        "Invoice 0 overdue", "Invoice 1 overdue"]  # fmt: skip

    rule = {"criteria": {"subject": "Invoice"}, "action": {"kind": "categorize",
                                                           "category": "Finance"}}  # fmt: skip
    with pytest.raises(Exception, match="dry run first"):
        start_job(world, "rules", rule, targets=[box])
    dry = start_job(world, "rules", rule, targets=[box], dry_run=True)
    assert _ended(dry) and dry.job.status == Job.Status.SUCCEEDED, dry.job.message
    assert dry.results.count() == 2 and "nothing was changed" in dry.job.message
    with session_for(world) as s:  # the dry run changed nothing
        found = s.account(box).inbox.filter(subject__contains="Invoice")
        assert all(not (m.categories or []) for m in found)
    real = start_job(world, "rules", rule, targets=[box])
    assert real.dry_run_of_id == dry.pk
    assert _ended(real) and real.job.status == Job.Status.SUCCEEDED, real.job.message
    with session_for(world) as s:
        found = s.account(box).inbox.filter(subject__contains="Invoice")
        assert sorted(m.categories for m in found) == [["Finance"], ["Finance"]]


def test_kill_mid_publish_then_restart_creates_every_event_exactly_once(world, tmp_path):
    world["admin"].set_knobs(latency_ms=250)
    ewsjob = start_job(world, "publish", {"events": events(40, "Rollout")})
    a = Worker(tmp_path / "a.log", "a", **FAST)
    try:
        a.wait_ready()
        assert wait_for(lambda: EwsJob.objects.get(pk=ewsjob.pk).done >= 20, 90), a.text()
        a.kill()
    finally:
        a.stop()
    before = EwsJob.objects.get(pk=ewsjob.pk).done
    assert before < 120
    b = Worker(tmp_path / "b.log", "b", **FAST)
    try:
        b.wait_ready()

        def finished():
            if Job.objects.get(pk=ewsjob.pk).is_done:
                return True
            reap_stale_task.delay()  # what beat does every 30 s
            return False

        assert wait_for(finished, 180, interval=2), b.text()
    finally:
        b.stop()
    ewsjob.refresh_from_db()
    ewsjob.job.refresh_from_db()
    assert ewsjob.job.status == Job.Status.SUCCEEDED, ewsjob.job.message
    # Either the runner message the dead worker never took finished the job, or the reaper
    # re-drove it; both claim the dead holder's chunks once their lease runs out.
    assert ewsjob.job.attempts in (1, 2)
    for box in world["boxes"]:
        got = collections.Counter(subjects(world, box, prefix="Rollout "))
        assert got == {f"Rollout {i}": 1 for i in range(40)}, (box, got)
    # Chunks of the killed attempt were looked up in Exchange before creating again.
    assert Chunk.objects.filter(ewsjob=ewsjob, attempts__gt=1).exists()
    assert ewsjob.targets.filter(existed__gt=0).exists() or before % 5 == 0


def test_back_off_is_honoured_and_a_budget_holds_across_two_workers(world, tmp_path):
    admin = world["admin"]
    # Exchange allows 2 concurrent calls; the portal's budget says 2: two workers with four
    # threads each never make the sandbox throttle.
    admin.set_knobs(latency_ms=300, max_concurrency=2, backoff_ms=400)
    throttled = admin.state()["stats"].get("throttled", 0)
    env = {**FAST, "EWS_MAX_CONCURRENCY": 2, "EWS_JOB_RUNNERS": 2}
    a = Worker(tmp_path / "a.log", "a", **env)
    b = Worker(tmp_path / "b.log", "b", **env)
    try:
        a.wait_ready()
        b.wait_ready()
        ewsjob = start_job(world, "publish", {"events": events(40, "Budget")})
        assert _ended(ewsjob, 180), a.text() + b.text()
        holders = {h.rsplit(":", 1)[0] for h in Chunk.objects.filter(ewsjob=ewsjob)
                   .values_list("holder", flat=True)}  # fmt: skip
    finally:
        a.stop()
        b.stop()
    assert ewsjob.job.status == Job.Status.SUCCEEDED, ewsjob.job.message
    assert len(holders) == 2, holders  # both worker processes took chunks
    assert admin.state()["stats"].get("throttled", 0) == throttled

    # Now the portal allows more than Exchange: Exchange answers ErrorServerBusy with
    # BackOffMilliseconds, the chunk waits that long unclaimed, and everything still lands.
    env = {**FAST, "EWS_MAX_CONCURRENCY": 6, "EWS_JOB_THREADS": 6}
    c = Worker(tmp_path / "c.log", "c", **env)
    try:
        c.wait_ready()
        ewsjob = start_job(world, "publish", {"events": events(40, "Busy")})
        assert _ended(ewsjob, 180), c.text()
    finally:
        c.stop()
    assert ewsjob.job.status == Job.Status.SUCCEEDED, ewsjob.job.message
    assert admin.state()["stats"]["throttled"] > throttled, (admin.state(), c.text()[-2000:])
    assert sum(ewsjob.chunks.values_list("busy_waits", flat=True)) > 0
    for box in world["boxes"]:
        assert len(subjects(world, box, prefix="Busy ")) == 40


def test_cancel_stops_new_chunks(world, worker):
    world["admin"].set_knobs(latency_ms=300)
    ewsjob = start_job(world, "publish", {"events": events(60, "Cancelled")})
    assert wait_for(lambda: EwsJob.objects.get(pk=ewsjob.pk).done >= 5, 60), worker.text()
    assert finish.request_cancel(ewsjob)
    assert _ended(ewsjob), worker.text()
    assert ewsjob.job.status == Job.Status.CANCELLED
    done_at_end = ewsjob.done
    assert 0 < done_at_end < ewsjob.total
    assert ewsjob.chunks.filter(status=Chunk.Status.CANCELLED).exists()
    created = sum(len(subjects(world, b, prefix="Cancelled ")) for b in world["boxes"])
    assert created == done_at_end  # what the job counted is what Exchange holds
    assert ewsjob.job.finished_at <= timezone.now()


def test_errors_per_item_and_per_mailbox_are_recorded_and_retry_completes_the_rest(
    world,
    worker,
):
    from portal.ewsjobs.start import retry_failed

    admin, boxes = world["admin"], world["boxes"]
    specs = events(6, "Partial")
    specs[3]["end"] = (timezone.now() + timezone.timedelta(days=6 * 366)).isoformat()
    admin.set_grant(world["app"].client_id, "list", boxes[:2])  # Exchange refuses the third
    ewsjob = start_job(world, "publish", {"events": specs})
    assert _ended(ewsjob), worker.text()
    assert ewsjob.job.status == Job.Status.PROBLEMS, ewsjob.job.message
    assert (ewsjob.done, ewsjob.failed, ewsjob.total) == (10, 8, 18)
    assert "Mailboxes with errors: 3." in ewsjob.job.message
    refused = ewsjob.targets.get(mailbox=boxes[2])
    assert refused.status == Target.Status.FAILED and refused.failed == 6
    assert "Traceback" not in refused.error and len(refused.error) > 20
    partly = ewsjob.targets.get(mailbox=boxes[0])
    assert partly.status == Target.Status.PARTLY and (partly.done, partly.failed) == (5, 1)
    assert partly.error  # the item Exchange refused, in words
    finished = AuditEvent.objects.get(action="ewsjob.finish", target_id=str(ewsjob.pk))
    assert finished.result == "failure"

    admin.set_grant(world["app"].client_id, "list", boxes)
    retry = retry_failed(ewsjob)
    assert retry.key_base == ewsjob.key_base and retry.retry_of_id == ewsjob.pk
    assert sorted(retry.targets.values_list("mailbox", flat=True)) == sorted(boxes)
    assert _ended(retry), worker.text()
    # The retry looks before it creates: the five events already in the first two mailboxes
    # are found there, not made twice; the sixth (still too long) fails again.
    assert retry.targets.get(mailbox=boxes[0]).existed == 5
    for box in boxes:
        got = collections.Counter(subjects(world, box, prefix="Partial "))
        assert got == {f"Partial {i}": 1 for i in range(6) if i != 3}, (box, got)
