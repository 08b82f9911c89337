"""Two threads refused by the same mailbox at once (one per chunk) fail it once: each chunk's
items are counted as failed once, on PostgreSQL (row locks) as on SQLite (serialized writers)."""

import threading

import pytest
from django.db import connections

from portal.ewsjobs import work
from portal.ewsjobs.models import Chunk, EwsJob, Target
from portal.jobs.models import Job
from tests.ewsjobs.pages import BOXES, make_grant, make_job
from tests.ewsjobs.test_cancelled_progress import EVENT


@pytest.fixture
def grant(transactional_db):  # the threads need committed rows
    return make_grant()


@pytest.mark.parametrize("attempt", range(5))
def test_a_mailbox_refused_by_two_threads_at_once_is_counted_once(grant, attempt):
    ewsjob = make_job(grant, kind="publish", status=Job.Status.RUNNING, boxes=BOXES[:1],
                      total=6, params={"events": [EVENT] * 6})  # fmt: skip
    target = ewsjob.targets.get()
    chunks = [
        Chunk.objects.create(ewsjob=ewsjob, target=target, index=i, start=5 * i, count=n,
                             status=Chunk.Status.RUNNING, holder=f"thread-{i}", attempts=1)
        for i, n in enumerate((5, 1))
    ]  # fmt: skip
    start = threading.Barrier(2)
    errors: list[BaseException] = []

    def refused(chunk):
        try:
            start.wait(5)
            work.mailbox_failed(EwsJob.objects.get(pk=ewsjob.pk), chunk, "access denied")
        except BaseException as exc:  # noqa: BLE001 - reported by the assertion below
            errors.append(exc)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=refused, args=(c,)) for c in chunks]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    assert errors == []
    ewsjob.refresh_from_db()
    target.refresh_from_db()
    assert (ewsjob.done, ewsjob.failed) == (0, 6)
    assert (target.failed, target.status) == (6, Target.Status.FAILED)
    assert set(ewsjob.chunks.values_list("status", flat=True)) == {Chunk.Status.FAILED}
