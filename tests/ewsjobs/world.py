"""A sandbox tenant, an application the sandbox knows, an active list grant, and helpers that
look into the sandbox's mailboxes through exchangelib as the application does."""

import contextlib
import uuid

import pytest
from django.utils import timezone

from portal.ewsjobs import start
from portal.grants.models import Application, Grant
from portal.tenants.sandbox import register_sandbox_tenant

FAST = {"JOB_HEARTBEAT_SECONDS": 1, "JOB_STALE_SECONDS": 4, "EWS_JOB_LEASE_SECONDS": 6,
        "EWS_JOB_THREADS": 4, "EWS_JOB_BATCH": 5}  # fmt: skip


@pytest.fixture
def world(transactional_db, sandbox_exchange, settings):
    from portal.celery import app as celery_app

    settings.EWS_JOB_BATCH = FAST["EWS_JOB_BATCH"]  # a job's batch size is fixed when it starts
    celery_app.control.purge()  # messages of earlier tests would run against a flushed db
    info = sandbox_exchange.info
    admin = sandbox_exchange.admin_client()
    tenant = register_sandbox_tenant(info)[0]
    created = admin.create_app(f"jobs-{uuid.uuid4().hex[:8]}")
    app = Application.objects.create(
        tenant=tenant, name="Publisher", owner="Facilities", client_id=created["client_id"],
        credential_secret=created["client_secret"], protocols=["ews"],
    )  # fmt: skip
    boxes = [m["address"] for m in info["mailboxes"][:3]]
    outside = f"outsider-{uuid.uuid4().hex[:6]}@{boxes[0].split('@')[1]}"
    admin.create_mailbox(outside)
    grant = Grant.objects.create(
        application=app, model="rbac", role="Application EWS.AccessAsApp", scope="list",
        mailboxes=boxes, justification="Facilities calendars", status="active",
        expires_at=timezone.now() + timezone.timedelta(days=30),
    )  # fmt: skip
    admin.set_grant(app.client_id, "list", boxes)
    yield {"admin": admin, "tenant": tenant, "app": app, "grant": grant, "boxes": boxes,
           "outside": outside, "info": info}  # fmt: skip
    admin.set_knobs(latency_ms=0, max_concurrency=0, failure_rate=0, backoff_ms=500)
    admin.set_grant(app.client_id, "none")
    admin.close()


def events(n: int, tag: str) -> list[dict]:
    day = timezone.now().replace(hour=9, minute=0, second=0, microsecond=0)
    return [{"subject": f"{tag} {i}", "start": (day + timezone.timedelta(days=1 + i % 20))
             .isoformat(), "end": (day + timezone.timedelta(days=1 + i % 20, hours=1))
             .isoformat(), "location": "Room 1"} for i in range(n)]  # fmt: skip


def start_job(w, kind, params, targets=None, **extra):
    return start.start(kind=kind, tenant=w["tenant"], grant=w["grant"], params=params,
                       targets=targets or w["boxes"], **extra)  # fmt: skip


@contextlib.contextmanager
def session_for(w):
    from connectivity import ewsjobs as engine
    from portal.ewsjobs.access import access_for
    from portal.ewsjobs.models import EwsJob

    probe = EwsJob(tenant=w["tenant"], grant=w["grant"])
    session = engine.Session(access_for(probe))
    try:
        yield session
    finally:
        session.close()


def subjects(w, mailbox, folder="calendar", prefix="") -> list[str]:
    with session_for(w) as s:
        items = getattr(s.account(mailbox), folder).all().only("subject")
        return [i.subject for i in items if (i.subject or "").startswith(prefix)]
