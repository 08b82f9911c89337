"""Rows for the page tests: a tenant, an application the portal can act as, an active list
grant, and jobs in the states a page must show (written as the worker writes them)."""

import datetime as dt
import uuid

import pytest
from django.utils import timezone

from portal.ewsjobs import specs, start
from portal.ewsjobs.models import EwsJob, Found, Target
from portal.grants.models import Application, Grant
from portal.jobs.models import Job
from portal.tenants.models import Tenant

BOXES = ["anna@contoso.example", "ben@contoso.example", "chen@contoso.example"]


@pytest.fixture
def grant(db):
    return make_grant()


def make_grant() -> Grant:
    tenant = Tenant.objects.create(
        name="Contoso", kind="online", cloud="worldwide",
        directory_id="3f2504e0-4f89-11d3-9a0c-0305e82c3301", client_id="portal-app",
        client_secret="portal-secret", accepted_domains=["contoso.example"],
    )  # fmt: skip
    app = Application.objects.create(
        tenant=tenant, name="Publisher", owner="Facilities", client_id="app-1234",
        credential_secret="app-secret", auth=Application.Auth.APP_SECRET, protocols=["ews"],
    )  # fmt: skip
    return Grant.objects.create(
        application=app, model=Grant.Model.RBAC, role="Application EWS.AccessAsApp",
        scope=Grant.Scope.LIST, mailboxes=BOXES, justification="Calendars",
        status=Grant.Status.ACTIVE, expires_at=timezone.now() + dt.timedelta(days=30),
    )  # fmt: skip


def make_job(grant, *, kind="search", status=Job.Status.RUNNING, dry_run=False, params=None,
             boxes=BOXES, user=None, done=0, failed=0, total=None, message="",
             **fields):  # fmt: skip
    """A job as the worker leaves it: counts, targets and (for searches) found messages."""
    now = timezone.now()
    job = Job.objects.create(
        kind=f"ews.{kind}", label=start.DRY_LABEL if dry_run else start.LABELS[kind],
        status=status, created_by=user,
        tenant_id=str(grant.application.tenant_id), message=message,
        started_at=None if status == Job.Status.QUEUED else now - dt.timedelta(seconds=20),
        finished_at=now if status in Job.DONE else None,
        progress=100 if status in Job.DONE else 0,
    )  # fmt: skip
    if params is None:
        params = {"criteria": {"subject": "Invoice"}}
        if kind == "rules":
            params["action"] = {"kind": "categorize", "category": "Paid"}
        params = specs.validate(kind, params)  # stored as the start checks leave them
    ewsjob = EwsJob.objects.create(
        job=job, kind=kind, tenant=grant.application.tenant, grant=grant, params=params,
        dry_run=dry_run, key_base=uuid.uuid4().hex, done=done, failed=failed,
        total=len(boxes) if total is None else total, **fields,
    )  # fmt: skip
    Target.objects.bulk_create([Target(ewsjob=ewsjob, mailbox=b) for b in boxes])
    return ewsjob


def add_found(ewsjob, n_per_box: int, subject="Invoice {i}", sender="billing@contoso.example"):
    rows = []
    for target in ewsjob.targets.all():
        rows += [Found(ewsjob=ewsjob, target=target, position=i, item_id=f"id-{target.pk}-{i}",
                       folder="Inbox", subject=subject.format(i=i), sender=sender,
                       received=timezone.now(), size=1000 + i)
                 for i in range(n_per_box)]  # fmt: skip
    Found.objects.bulk_create(rows)
    ewsjob.targets.update(found=n_per_box, status=Target.Status.DONE)
