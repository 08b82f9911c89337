"""A concurrency budget per application that holds across every worker process and machine.

Exchange Online allows an account at most EWSMaxConcurrency (27) concurrent EWS requests; more
are answered ErrorServerBusy. A per-process semaphore cannot keep that promise with several
workers, so the budget is a set of numbered Slot rows in the shared database: a thread takes a
free (or expired) slot with one conditional UPDATE, holds it for one Exchange call, and gives it
back. A holder that dies frees its slot when the lease runs out.
"""

import datetime as dt
import random

from django.conf import settings
from django.db.models import Q
from django.utils import timezone

from portal.ewsjobs.models import Slot


def budget_key(ewsjob) -> str:
    """Exchange counts per account: an application (app id) or a service account."""
    app = ewsjob.grant.application if ewsjob.grant_id else None
    principal = (app.principal if app else "") or f"tenant-{ewsjob.tenant_id}"
    return f"{ewsjob.tenant_id}:{principal}"[:120]


def ensure(key: str, limit: int) -> None:
    Slot.objects.bulk_create([Slot(key=key, number=n) for n in range(limit)], ignore_conflicts=True)


def acquire(key: str, limit: int, holder: str, lease_s: float | None = None) -> int | None:
    """Take one slot (its id) or None when all ``limit`` slots are held."""
    lease_s = lease_s or settings.EWS_JOB_LEASE_SECONDS
    now = timezone.now()
    free = Q(holder="") | Q(lease_until__lt=now)
    candidates = list(
        Slot.objects.filter(free, key=key, number__lt=limit).values_list("pk", flat=True)[:limit]
    )
    # Threads that start together would all race for the first free row.
    random.shuffle(candidates)
    for pk in candidates:
        taken = Slot.objects.filter(free, pk=pk).update(
            holder=holder[:200], lease_until=now + dt.timedelta(seconds=lease_s)
        )
        if taken:
            return pk
    return None


def release(slot_id: int, holder: str) -> None:
    Slot.objects.filter(pk=slot_id, holder=holder[:200]).update(holder="", lease_until=None)


def in_use(key: str) -> int:
    return Slot.objects.filter(key=key, lease_until__gte=timezone.now()).exclude(holder="").count()
