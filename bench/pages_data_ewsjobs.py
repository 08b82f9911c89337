"""The EWS jobs of ``bench/pages.py``'s data set (``bench/pages_data.py`` loads the rest).

2,000 jobs of the four kinds on the bench tenants and their active grants, as the worker leaves
them: counts, five mailboxes each with their status and errors, the messages searches and dry
runs found, the summary a finished job gets; and one big search still running (1,000 mailboxes,
20,000 messages found), the page that must stay fast while it is polled. A database loaded
before the EWS jobs were part of the data set gets only these rows added (``loaded``).
"""

from __future__ import annotations

import datetime as dt

from bench.pages_data import BATCH, MARKER, SIZES, keep_timestamps

BOXES = 5  # mailboxes per job, but for the big one
FOUND = 2  # messages a search (or a rule's dry run) found per mailbox
PER_BOX = {"publish": 3, "tasks": 2, "rules": FOUND}  # items a real run creates or changes
BIG_KEY = "bench-big-search"  # the big job's key_base: its row says the EWS jobs are loaded
# Fates of finished jobs; only the newest jobs are still running or queued.
FATES = ["clean"] * 12 + ["some_failed"] * 5 + ["all_failed", "cancelled"]
ACTIVE = ["running", "queued"]
NEWEST_ACTIVE = 20
NO_MAILBOX = (
    "Exchange has no mailbox %(mailbox)s (%(code)s). What to do: check the address (a typing "
    "error, a removed user or a contact without a mailbox) and remove it from the job's targets."
)


def loaded() -> bool:
    from portal.ewsjobs.models import EwsJob

    return EwsJob.objects.filter(key_base=BIG_KEY).exists()


def params() -> dict:
    """Each kind's parameters as the start checks leave them (the page puts them into words)."""
    from portal.ewsjobs import specs

    event = {"subject": "Fire drill", "start": "2026-12-01T09:00:00+00:00", "tz": "UTC",
             "end": "2026-12-01T10:00:00+00:00", "location": "Lobby"}  # fmt: skip
    criteria = {"subject": "Invoice", "received_from": "2026-01-01", "has_attachments": True}
    action = {"kind": "move", "folder": "inbox/Paid"}
    return {
        "search": specs.validate("search", {"criteria": criteria}),
        "publish": specs.validate("publish", {"events": [event] * PER_BOX["publish"]}),
        "tasks": specs.validate("tasks", {"tasks": [{"subject": "Renew the badge"}] * 2}),
        "rules": specs.validate("rules", {"criteria": criteria, "action": action}),
    }


def statuses(fate: str, n: int) -> list[str]:
    """Each mailbox's status in a job of this fate."""
    return {
        "clean": ["done"] * n,
        "some_failed": ["failed", "partly"] + ["done"] * (n - 2),
        "all_failed": ["failed"] * n,
        "cancelled": ["done"] * 2 + ["cancelled"] * (n - 2),
        "running": ["done"] * 2 + ["running"] + ["pending"] * (n - 3),
        "queued": ["pending"] * n,
    }[fate]


def _target(e, mailbox: str, status: str, per_box: int, when: dt.datetime):
    from connectivity.i18n import N_
    from portal.ewsjobs import words
    from portal.ewsjobs.models import Target

    ended = status in ("done", "partly", "failed", "cancelled")
    t = Target(ewsjob=e, mailbox=mailbox, status=status, ms=40 + len(mailbox), total=per_box,
               started_at=None if status == "pending" else when,
               finished_at=when + dt.timedelta(seconds=20) if ended else None)  # fmt: skip
    if per_box:  # counts of items; a search counts mailboxes and what they held
        t.done = per_box if status == "done" else per_box - 1 if status == "partly" else 0
        t.failed = per_box if status == "failed" else 1 if status == "partly" else 0
    t.found = FOUND if status in ("done", "partly") and not e.counts_items else 0
    if status == "failed":  # as the worker stores an engine sentence
        t.error = words.to_store(N_(NO_MAILBOX, mailbox=mailbox, code="ErrorNonExistentMailbox"))
    return t


def _count(e, targets: list) -> None:
    """The job's counts from its mailboxes: items for batches, mailboxes for searches."""
    if e.counts_items:
        e.total = sum(t.total for t in targets)
        e.done, e.failed = sum(t.done for t in targets), sum(t.failed for t in targets)
    else:
        e.total = len(targets)
        e.done = sum(t.status in ("done", "partly") for t in targets)
        e.failed = sum(t.status == "failed" for t in targets)


def _jobs(now: dt.datetime, n_jobs: int, tenants: list, grants: dict, user) -> tuple[list, list]:
    from portal.ewsjobs import finish, start
    from portal.ewsjobs.models import EwsJob
    from portal.jobs.models import Job

    kinds_params = params()
    start_at = now - dt.timedelta(days=30)
    ewsjobs, targets, dry_runs = [], [], {}
    for i in range(n_jobs):
        kind = ("search", "publish", "tasks", "rules")[i % 4]
        dry = kind == "rules" and i % 8 == 3  # each real run follows its dry run, same tenant
        t_index = (i // 8) % len(tenants)
        tenant = tenants[t_index]
        fate = ACTIVE[i // 4 % 2] if i >= n_jobs - NEWEST_ACTIVE else FATES[i // 4 % len(FATES)]
        created = start_at + dt.timedelta(seconds=i * 30 * 86400 / n_jobs)
        e = EwsJob(kind=kind, tenant=tenant, params=kinds_params[kind], dry_run=dry,
                   key_base=f"bench-{i:05d}",
                   dry_run_of=dry_runs.get(tenant.pk) if kind == "rules" and not dry else None,
                   cancel_requested_at=created if fate == "cancelled" else None)  # fmt: skip
        choices = grants.get(tenant.pk)
        e.grant_id = choices[i % len(choices)] if choices and i % 50 != 49 else None  # deleted
        if dry:
            dry_runs[tenant.pk] = e
        per_box = PER_BOX[kind] if e.counts_items else 0
        boxes = [f"user{(i + k * 37) % 500:03d}@bench{t_index:03d}.example.com"
                 for k in range(BOXES)]  # fmt: skip
        mine = [_target(e, box, status, per_box, created)
                for box, status in zip(boxes, statuses(fate, BOXES), strict=True)]  # fmt: skip
        targets += mine
        _count(e, mine)
        e.job = Job(kind=f"ews.{kind}", label=start.DRY_LABEL if dry else start.LABELS[kind],
                    created_by=None if i % 10 == 9 else user, tenant_id=str(tenant.pk),
                    created_at=created, started_at=None if fate == "queued" else created,
                    task_name="portal.ewsjobs.tasks.run_job")  # fmt: skip
        if fate in ACTIVE:
            if fate == "queued":
                e.total = e.done = e.failed = 0  # not yet cut into batches
            e.job.status = fate
            e.job.progress = e.done * 100 // e.total if e.total else 0
        else:
            counts: dict = {}
            for t in mine:
                counts[t.status] = counts.get(t.status, 0) + 1
            e.job.status, message = finish.outcome(e, counts, sum(t.found for t in mine))
            e.job.message, e.job.progress = message[:400], 100
            e.job.finished_at = created + dt.timedelta(seconds=25)
        ewsjobs.append(e)
    return ewsjobs, targets


def _big_job(now: dt.datetime, tenant, grant_id, user, n: int, n_found: int) -> dict:
    """A search of a tenant's every mailbox, still running: most searched, 2 % failed, 2 %
    searching now, 2 % waiting, and what was found so far."""
    from portal.ewsjobs.models import Chunk, EwsJob
    from portal.ewsjobs.start import LABELS
    from portal.jobs.models import Job

    created = now - dt.timedelta(minutes=20)
    job = Job(kind="ews.search", label=LABELS["search"], status="running", created_by=user,
              tenant_id=str(tenant.pk), created_at=created, started_at=created,
              task_name="portal.ewsjobs.tasks.run_job")  # fmt: skip
    e = EwsJob(job=job, kind="search", tenant=tenant, grant_id=grant_id, key_base=BIG_KEY,
               params=params()["search"])  # fmt: skip
    tail = ["failed"] * (n // 50) + ["running"] * (n // 50) + ["pending"] * (n // 50)
    states = ["done"] * (n - len(tail)) + tail
    targets = [_target(e, f"staff{k:05d}@{tenant.accepted_domains[0]}", s, 0, created)
               for k, s in enumerate(states)]  # fmt: skip
    searched = [t for t in targets if t.status == "done"]
    for t in searched:
        t.found = 0
    found = [(searched[r % len(searched)], r // len(searched)) for r in range(n_found)]
    for t, _ in found:
        t.found += 1
    _count(e, targets)
    job.progress = (e.done + e.failed) * 100 // n
    chunks = [Chunk(ewsjob=e, target=t, index=0, count=t.found, status=t.status,
                    attempts=int(bool(t.started_at))) for t in targets]  # fmt: skip
    return {"ewsjob": e, "targets": targets, "found": found, "chunks": chunks}


def _found(ewsjob, target, position: int, when: dt.datetime):
    from portal.ewsjobs.models import Found

    n = target.pk * 100 + position
    return Found(ewsjob=ewsjob, target=target, position=position,
                 item_id=f"AAMkAD{n:012d}".ljust(150, "A") + "==", changekey=f"CQAAABYA{n:032d}",
                 folder="Inbox", subject=f"Invoice {n} for March", has_attachments=n % 3 == 0,
                 sender=f"billing{n % 90}@example.net", size=20_000 + n % 5000,
                 received=when - dt.timedelta(hours=position))  # fmt: skip


def load(now: dt.datetime, sizes: dict | None = None) -> None:
    from django.contrib.auth import get_user_model
    from django.db import transaction

    from portal.ewsjobs.models import Chunk, EwsJob, Found, Target
    from portal.grants.models import Grant
    from portal.jobs.models import Job
    from portal.tenants.models import Tenant

    sizes = {**SIZES, **(sizes or {})}
    user = get_user_model().objects.get_or_create(username="bench-operator")[0]
    tenants = list(Tenant.objects.filter(name__startswith=MARKER).order_by("name"))
    grants: dict = {}
    active = Grant.objects.filter(application__tenant__in=tenants, status=Grant.Status.ACTIVE)
    for pk, tenant_id in active.order_by("pk").values_list("pk", "application__tenant_id"):
        grants.setdefault(tenant_id, []).append(pk)
    ewsjobs, targets = _jobs(now, sizes["ews_jobs"], tenants, grants, user)
    page_tenant = tenants[7]  # the tenant bench/pages.py opens
    big = _big_job(now, page_tenant, (grants.get(page_tenant.pk) or [None])[0], user,
                   sizes["ews_big_job_targets"], sizes["ews_big_job_found"])  # fmt: skip
    with transaction.atomic(), keep_timestamps(Job):
        Job.objects.bulk_create([e.job for e in ewsjobs] + [big["ewsjob"].job], batch_size=BATCH)
        EwsJob.objects.bulk_create(ewsjobs + [big["ewsjob"]], batch_size=BATCH)
        Target.objects.bulk_create(targets + big["targets"], batch_size=BATCH)
        found = [_found(t.ewsjob, t, p, t.started_at) for t in targets for p in range(t.found)]
        found += [_found(big["ewsjob"], t, p, now) for t, p in big["found"]]
        Found.objects.bulk_create(found, batch_size=BATCH)
        Chunk.objects.bulk_create(big["chunks"], batch_size=BATCH)
