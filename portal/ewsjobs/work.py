"""One chunk of one kind: call the engine, then record what happened (chunk, mailbox, job)."""

import datetime as dt
from dataclasses import dataclass, field

from django.db import transaction
from django.db.models import F
from django.utils import timezone

from connectivity import ewsjobs as engine
from portal.ewsjobs.models import Chunk, EwsJob, Found, Target
from portal.ewsjobs.words import to_store
from portal.jobs.models import Job

MAX_CHUNK_ATTEMPTS = 3


@dataclass
class Outcome:
    created: int = 0
    existed: int = 0
    failed: int = 0
    errors: list[str] = field(default_factory=list)
    found: list = field(default_factory=list)  # engine Found rows (search, dry run)
    more: bool = False
    acted: list = field(default_factory=list)  # (dry-run Found row, ItemOutcome) of a real rule


def execute(ewsjob: EwsJob, chunk: Chunk, session) -> Outcome:
    mailbox = chunk.target.mailbox
    if ewsjob.kind in (EwsJob.Kind.PUBLISH, EwsJob.Kind.TASKS):
        return _create(ewsjob, chunk, session, mailbox)
    if ewsjob.kind == EwsJob.Kind.RULES and not ewsjob.dry_run:
        return _act(ewsjob, chunk, session, mailbox)
    if ewsjob.kind == EwsJob.Kind.RULES and chunk.start == 0:
        # A dry run: a move to a folder the mailbox lacks fails the mailbox here, in words,
        # instead of listing messages whose real run could only fail.
        engine.check_action(session, mailbox, engine.Action.from_json(ewsjob.params["action"]))
    criteria = engine.Criteria.from_json(ewsjob.params["criteria"])
    page, more = engine.search(session, mailbox, criteria, chunk.start, chunk.count)
    return Outcome(found=page, more=more)


def _create(ewsjob, chunk, session, mailbox) -> Outcome:
    indexes = list(range(chunk.start, chunk.start + chunk.count))
    keys = [engine.item_key(ewsjob.key_base, mailbox, i) for i in indexes]
    # Only a chunk that may have run before (or a retry of a job) can find its items there
    # already; a first attempt skips the lookup and costs Exchange one call, not two.
    check = chunk.attempts > 1 or ewsjob.retry_of_id is not None
    if ewsjob.kind == EwsJob.Kind.PUBLISH:
        specs = [engine.event_from_json(ewsjob.params["events"][i]) for i in indexes]
        results = engine.publish_events(session, mailbox, specs, keys, indexes, check)
    else:
        specs = [engine.task_from_json(ewsjob.params["tasks"][i]) for i in indexes]
        results = engine.create_tasks(session, mailbox, specs, keys, indexes, check)
    out = Outcome()
    for r in results:
        if r.status == "created":
            out.created += 1
        elif r.status == "existed":
            out.existed += 1
        else:
            out.failed += 1
            out.errors.append(r.error)
    return out


def _act(ewsjob, chunk, session, mailbox) -> Outcome:
    rows = list(Found.objects.filter(ewsjob_id=ewsjob.dry_run_of_id, target__mailbox=mailbox,
                                     position__gte=chunk.start,
                                     position__lt=chunk.start + chunk.count)
                .order_by("position"))  # fmt: skip
    found = [engine.Found(item_id=r.item_id, changekey=r.changekey, folder=r.folder,
                          subject=r.subject, sender=r.sender, received=r.received,
                          has_attachments=r.has_attachments, size=r.size)
             for r in rows]  # fmt: skip
    action = engine.Action.from_json(ewsjob.params["action"])
    results = engine.apply_action(session, mailbox, found, action)
    out = Outcome(acted=list(zip(rows, results, strict=False)))
    for r in results:
        if r.status == "failed":
            out.failed += 1
            out.errors.append(r.error)
        else:
            out.created += 1
    return out


def record(ewsjob: EwsJob, chunk: Chunk, out: Outcome, ms: int) -> None:
    """Write the chunk's outcome once: only while this attempt still holds the chunk."""
    now = timezone.now()
    target = chunk.target
    with transaction.atomic():
        mine = Chunk.objects.filter(pk=chunk.pk, status=Chunk.Status.RUNNING, holder=chunk.holder,
                                    attempts=chunk.attempts)  # fmt: skip
        if not mine.update(status=Chunk.Status.DONE, lease_until=None,
                           error=to_store(out.errors[0] if out.errors else "")):  # fmt: skip
            return  # the lease ran out and another attempt owns the chunk now
        if out.found:
            Found.objects.bulk_create([
                Found(ewsjob=ewsjob, target=target, position=chunk.start + i, item_id=f.item_id,
                      changekey=f.changekey or "", folder=f.folder[:255], subject=f.subject[:255],
                      sender=f.sender[:320], received=f.received,
                      has_attachments=bool(f.has_attachments), size=f.size or 0)
                for i, f in enumerate(out.found)], ignore_conflicts=True)  # fmt: skip
        if out.acted:
            Found.objects.bulk_create([
                Found(ewsjob=ewsjob, target=target, position=row.position, item_id=row.item_id,
                      changekey=row.changekey, folder=row.folder, subject=row.subject,
                      sender=row.sender, received=row.received,
                      has_attachments=row.has_attachments, size=row.size,
                      outcome="failed" if r.status == "failed" else "done",
                      error=to_store(r.error))
                for row, r in out.acted], ignore_conflicts=True)  # fmt: skip
        if out.more:
            following = Chunk(ewsjob=ewsjob, target=target, index=chunk.index + 1,
                              start=chunk.start + chunk.count, count=chunk.count)  # fmt: skip
            Chunk.objects.bulk_create([following], ignore_conflicts=True)
        per_item = ewsjob.counts_items
        t_fields = {"done": F("done") + out.created + out.existed, "failed": F("failed") +
                    out.failed, "existed": F("existed") + out.existed, "found": F("found") +
                    len(out.found), "ms": F("ms") + ms}  # fmt: skip
        if out.errors:
            t_fields["error"] = to_store(out.errors[0])
        Target.objects.filter(pk=target.pk).update(**t_fields)
        Target.objects.filter(pk=target.pk, started_at__isnull=True).update(started_at=now)
        Target.objects.filter(pk=target.pk, status=Target.Status.PENDING).update(
            status=Target.Status.RUNNING
        )
        target_done = not Chunk.objects.filter(target=target, status__in=[
            Chunk.Status.PENDING, Chunk.Status.RUNNING]).exists()  # fmt: skip
        if target_done:
            _close_target(target.pk, now)
        if per_item:
            EwsJob.objects.filter(pk=ewsjob.pk).update(
                done=F("done") + out.created + out.existed, failed=F("failed") + out.failed
            )
        elif target_done:
            failed = Target.objects.filter(pk=target.pk, status=Target.Status.FAILED).exists()
            EwsJob.objects.filter(pk=ewsjob.pk).update(
                **({"failed": F("failed") + 1} if failed else {"done": F("done") + 1})
            )
        _progress(ewsjob.pk, now)


def _close_target(target_id, now) -> None:
    t = Target.objects.get(pk=target_id)
    if t.failed and t.done:
        status = Target.Status.PARTLY
    elif t.failed:
        status = Target.Status.FAILED
    else:
        status = Target.Status.DONE
    Target.objects.filter(pk=target_id).update(status=status, finished_at=now)


def _progress(ewsjob_id, now) -> None:
    e = EwsJob.objects.filter(pk=ewsjob_id).values("done", "failed", "total").first()
    pct = (e["done"] + e["failed"]) * 100 // e["total"] if e and e["total"] else 0
    Job.objects.filter(pk=ewsjob_id, status=Job.Status.RUNNING).update(
        progress=min(99, pct), heartbeat_at=now)  # fmt: skip


def give_back(chunk: Chunk) -> None:
    Chunk.objects.filter(pk=chunk.pk, holder=chunk.holder, attempts=chunk.attempts,
                         status=Chunk.Status.RUNNING).update(
        status=Chunk.Status.PENDING, lease_until=None, attempts=F("attempts") - 1)  # fmt: skip


def back_off(chunk: Chunk, seconds: float) -> None:
    """Exchange said ErrorServerBusy: the chunk waits BackOffMilliseconds, unclaimed."""
    when = timezone.now() + dt.timedelta(seconds=max(0.05, min(seconds, 300.0)))
    Chunk.objects.filter(pk=chunk.pk, holder=chunk.holder, attempts=chunk.attempts,
                         status=Chunk.Status.RUNNING).update(
        status=Chunk.Status.PENDING, lease_until=None, not_before=when,
        busy_waits=F("busy_waits") + 1)  # fmt: skip


def chunk_error(ewsjob: EwsJob, chunk: Chunk, words: str) -> None:
    """An unexpected failure: the chunk is tried again later, up to MAX_CHUNK_ATTEMPTS times."""
    if chunk.attempts < MAX_CHUNK_ATTEMPTS:
        when = timezone.now() + dt.timedelta(seconds=2 * chunk.attempts)
        Chunk.objects.filter(pk=chunk.pk, holder=chunk.holder, attempts=chunk.attempts,
                             status=Chunk.Status.RUNNING).update(
            status=Chunk.Status.PENDING, lease_until=None, not_before=when,
            error=to_store(words))  # fmt: skip
        return
    mailbox_failed(ewsjob, chunk, words, only_chunk=True)


def mailbox_failed(ewsjob: EwsJob, chunk: Chunk, words: str, only_chunk=False) -> None:
    """The mailbox cannot be worked (or one chunk failed for good): fail what is left of it."""
    now = timezone.now()
    with transaction.atomic():
        # Two threads can be refused by the same mailbox at once (one per chunk): the rows are
        # locked, so the second one waits, then finds them failed already and counts nothing.
        chunks = Chunk.objects.select_for_update().filter(
            target=chunk.target, status__in=[Chunk.Status.PENDING, Chunk.Status.RUNNING]
        )
        if only_chunk:
            chunks = chunks.filter(pk=chunk.pk)
        taken = list(chunks.values_list("pk", "count"))
        if not taken:
            return  # another attempt failed them (or finished them) first
        lost = sum(count for _pk, count in taken)
        Chunk.objects.filter(pk__in=[pk for pk, _count in taken]).update(
            status=Chunk.Status.FAILED, lease_until=None, error=to_store(words)
        )
        t = Target.objects.filter(pk=chunk.target_id)
        t.update(error=to_store(words), failed=F("failed") + (lost if ewsjob.counts_items else 0))
        t.filter(started_at__isnull=True).update(started_at=now)
        if not Chunk.objects.filter(target=chunk.target, status__in=[
                Chunk.Status.PENDING, Chunk.Status.RUNNING]).exists():  # fmt: skip
            target = Target.objects.get(pk=chunk.target_id)
            status = Target.Status.PARTLY if target.done else Target.Status.FAILED
            t.update(status=status, finished_at=now)
            if not ewsjob.counts_items:
                EwsJob.objects.filter(pk=ewsjob.pk).update(failed=F("failed") + 1)
        if ewsjob.counts_items:
            EwsJob.objects.filter(pk=ewsjob.pk).update(failed=F("failed") + lost)
        _progress(ewsjob.pk, now)
