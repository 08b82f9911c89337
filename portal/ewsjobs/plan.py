"""Cut a job into chunks (one mailbox × one batch) — idempotent, so a re-driven job re-plans
safely: existing chunks are kept, missing ones added."""

from django.db import transaction
from django.db.models import Count

from portal.ewsjobs.models import Chunk, EwsJob, Found, Target


def _item_count(ewsjob: EwsJob) -> int:
    return len(ewsjob.params.get("events") or ewsjob.params.get("tasks") or [])


def plan(ewsjob: EwsJob) -> None:
    targets = list(ewsjob.targets.all())
    size = ewsjob.batch_size
    chunks, totals = [], {}
    if ewsjob.kind in (EwsJob.Kind.PUBLISH, EwsJob.Kind.TASKS):
        n = _item_count(ewsjob)
        for t in targets:
            totals[t.pk] = n
            chunks += [Chunk(ewsjob=ewsjob, target=t, index=i, start=s, count=min(size, n - s))
                       for i, s in enumerate(range(0, n, size))]  # fmt: skip
        total = n * len(targets)
    elif ewsjob.kind == EwsJob.Kind.RULES and not ewsjob.dry_run:
        found = _dry_run_found(ewsjob)
        for t in targets:
            n = found.get(t.mailbox, 0)
            totals[t.pk] = n
            chunks += [Chunk(ewsjob=ewsjob, target=t, index=i, start=s, count=min(size, n - s))
                       for i, s in enumerate(range(0, n, size))]  # fmt: skip
        total = sum(totals.values())
    else:
        # Searches page through results: the first page is planned, each page adds the next.
        chunks = [Chunk(ewsjob=ewsjob, target=t, index=0, start=0, count=size) for t in targets]
        total = len(targets)
    with transaction.atomic():
        Chunk.objects.bulk_create(chunks, ignore_conflicts=True, batch_size=500)
        for pk, n in totals.items():
            Target.objects.filter(pk=pk).update(total=n)
        # A mailbox with nothing to do (a rule that found nothing there) is done at once.
        Target.objects.filter(ewsjob=ewsjob, total=0, status=Target.Status.PENDING).exclude(
            pk__in=Chunk.objects.filter(ewsjob=ewsjob).values("target")
        ).update(status=Target.Status.DONE)
        EwsJob.objects.filter(pk=ewsjob.pk).update(total=total)
    ewsjob.total = total


def _dry_run_found(ewsjob: EwsJob) -> dict[str, int]:
    rows = (Found.objects.filter(ewsjob_id=ewsjob.dry_run_of_id)
            .values("target__mailbox").annotate(n=Count("pk")))  # fmt: skip
    return {r["target__mailbox"]: r["n"] for r in rows}


def open_chunks(ewsjob_id) -> bool:
    return Chunk.objects.filter(
        ewsjob_id=ewsjob_id, status__in=[Chunk.Status.PENDING, Chunk.Status.RUNNING]
    ).exists()
