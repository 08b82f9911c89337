"""The data set of ``bench/pages.py``: tenants, connectivity runs, relay clients, grants and
(in ``bench/pages_data_ewsjobs.py``) EWS jobs.

Every row is made the way the portal stores it (runs carry their steps as the probes record
them, secrets are encrypted) and written with ``bulk_create`` in one transaction, so an
interrupted load leaves nothing half-made. Timestamps are spread over the last 30 days: the
``auto_now`` columns are switched off while the rows are written, or every row would be "now".
"""

from __future__ import annotations

import contextlib
import datetime as dt

SIZES = {"tenants": 200, "runs": 50_000, "relay_clients": 5_000, "grants": 20_000,
         "ews_jobs": 2_000, "ews_big_job_targets": 1_000, "ews_big_job_found": 20_000}  # fmt: skip
APPS_PER_TENANT = 10  # 2,000 applications, 10 grants each
SCHEDULED_PROBES = 4  # schedules per tenant
JOBS = 2_000
BATCH = 2_000
MARKER = "Bench tenant "  # the tenants' names: their rows say the data set is loaded

STEP_NAMES = {
    "smtp": ["Resolve host", "Connect", "Banner", "EHLO", "STARTTLS", "Certificate validity",
             "Authenticate", "Send test message"],
    "tls": ["Resolve host", "Connect", "TLS version", "Certificate name", "Certificate validity",
            "Certificate chain"],
}  # fmt: skip
DEFAULT_STEPS = ["Resolve host", "Connect", "TLS handshake", "Sign in", "Read mailbox"]


@contextlib.contextmanager
def keep_timestamps(*models):
    """Let bulk_create write the given created_at/updated_at instead of "now"."""
    saved = []
    for model in models:
        for f in model._meta.concrete_fields:
            if getattr(f, "auto_now", False) or getattr(f, "auto_now_add", False):
                saved.append((f, f.auto_now, f.auto_now_add))
                f.auto_now = f.auto_now_add = False
    try:
        yield
    finally:
        for f, auto_now, auto_now_add in saved:
            f.auto_now, f.auto_now_add = auto_now, auto_now_add


def steps_for(probe: str, status: str, i: int) -> tuple[list[dict], int | None]:
    names = STEP_NAMES.get(probe, DEFAULT_STEPS)
    days = (i * 7) % 400 - 10 if probe in ("tls", "smtp") else None
    steps = []
    for n, name in enumerate(names):
        step_status = status if n == len(names) - 1 and status in ("warn", "fail") else "pass"
        detail = f"step {n} of run {i} answered in {n + 3} ms"
        if name == "Certificate validity" and days is not None:
            detail = f"valid until 2026-12-31 ({days} days left)" if days >= 0 else "expired"
        steps.append({"name": name, "status": step_status, "detail": detail,
                      "hint": "check the connector" if step_status == "fail" else "",
                      "ms": n + 3})  # fmt: skip
    return steps, days


def _status(i: int) -> str:
    """Mostly passing, as a healthy estate is: ~4 % fail, ~9 % warn, ~1 % could not run."""
    return "fail" if i % 23 == 0 else "warn" if i % 11 == 0 else "error" if i % 97 == 0 else "pass"


def load(now: dt.datetime, sizes: dict | None = None) -> dict:
    from django.contrib.auth import get_user_model
    from django.db import transaction

    from connectivity.i18n import N_
    from portal.grants.models import Application, Grant, TenantEws
    from portal.integrations.models import FeatureStatus, Integration
    from portal.jobs.models import Job
    from portal.lib.crypto import encrypt
    from portal.relay.models import RelayClient
    from portal.runs.models import TENANT_PROBES, ProbeRun, Schedule
    from portal.tenants.models import Tenant

    sizes = {**SIZES, **(sizes or {})}
    secret = encrypt("bench-secret")  # one ciphertext, as bulk_create would write per row
    user = get_user_model().objects.get_or_create(username="bench-operator")[0]
    start = now - dt.timedelta(days=30)
    with transaction.atomic(), keep_timestamps(ProbeRun, Job, Tenant, RelayClient):
        tenants = Tenant.objects.bulk_create(
            Tenant(
                name=f"{MARKER}{t:03d}",
                kind="server" if t % 5 == 4 else "online",
                cloud="custom" if t % 10 == 9 else "worldwide",
                directory_id=f"bench{t:03d}.onmicrosoft.com",
                accepted_domains=[f"bench{t:03d}.example.com"],
                auth_method="basic" if t % 5 == 4 else "oauth_secret",
                client_id="11111111-2222-3333-4444-555555555555",
                client_secret=secret,
                username=f"svc@bench{t:03d}.example.com",
                test_mailbox=f"probe@bench{t:03d}.example.com",
                tls_verify=t % 17 != 0,
                created_at=start,
                updated_at=start,
            )  # fmt: skip
            for t in range(sizes["tenants"])
        )
        probes = [p.value for p in TENANT_PROBES]
        schedules = Schedule.objects.bulk_create(
            Schedule(
                tenant=t,
                probe=p,
                interval_minutes=15 * (1 + i % 4),
                next_due=now,
                enabled=i % 9 != 0,
            )  # fmt: skip
            for t in tenants
            for i, p in enumerate(probes[:SCHEDULED_PROBES])
        )
        by_pair = {(s.tenant_id, s.probe): s for s in schedules}
        jobs = Job.objects.bulk_create(
            (
                Job(
                    kind="connectivity.run",
                    label="Run a test",
                    status="succeeded",
                    progress=100,
                    created_by=user,
                    created_at=start + dt.timedelta(minutes=j),
                    tenant_id=str(tenants[j % len(tenants)].pk),
                    message="8 passed",
                )  # fmt: skip
                for j in range(JOBS)
            ),
            batch_size=BATCH,
        )
        step_s = 30 * 86400 / sizes["runs"]
        runs = []
        adhoc_every = 125  # 400 of 50,000 runs test a host without a tenant
        for i in range(sizes["runs"]):
            probe = probes[i % len(probes)]
            tenant = None if i % adhoc_every == 0 else tenants[(i // len(probes)) % len(tenants)]
            status = _status(i)
            steps, days = steps_for(probe, status, i)
            when = start + dt.timedelta(seconds=i * step_s)
            runs.append(ProbeRun(
                tenant=tenant, probe=probe, status=status, steps=steps,
                target="" if tenant else f"mail{i % 50}.example.net",
                params={} if tenant else {"host": f"mail{i % 50}.example.net", "port": 587},
                error="the server refused the connection" if status == "error" else "",
                cert_days_left=days, started_by=None if i % 3 else user,
                schedule=by_pair.get((tenant.pk, probe)) if tenant and i % 3 else None,
                job=jobs[i % len(jobs)] if i % 5 == 0 else None, created_at=when,
                started_at=when, finished_at=when + dt.timedelta(seconds=2), duration_ms=2000,
            ))  # fmt: skip
        ProbeRun.objects.bulk_create(runs, batch_size=BATCH)
        clients_per_tenant = sizes["relay_clients"] // len(tenants)
        methods = ["smtp_auth", "smtp_auth", "smtp_oauth", "connector", "direct_send", "hve"]
        RelayClient.objects.bulk_create(
            (
                RelayClient(
                    tenant=t,
                    name=f"device {c:03d}",
                    kind=("printer", "fax", "application", "appliance")[c % 4],
                    owner=f"Owner {c}",
                    owner_email=f"owner{c}@example.com",
                    method=methods[c % len(methods)],
                    source_ips=["192.0.2.10"] if c % 3 else [],
                    username=f"scanner{c}@example.com" if c % 2 else "",
                    password=secret if c % 2 else "",
                    rotation_days=90,
                    rotated_at=now - dt.timedelta(days=c % 120) if c % 2 else None,
                    last_test_at=now,
                    last_test_ok=c % 13 != 0,
                    last_success_at=now,
                    created_at=start,
                    updated_at=start,
                )  # fmt: skip
                for t in tenants
                for c in range(clients_per_tenant)
            ),
            batch_size=BATCH,
        )
        apps = Application.objects.bulk_create(
            Application(
                tenant=t,
                name=f"app {a:02d}",
                owner=f"Team {a}",
                client_id=f"00000000-0000-0000-0000-{t.pk:06d}{a:06d}",
                protocols=["ews", "graph"] if a % 3 == 0 else ["ews"] if a % 2 else ["graph"],
                ews_uses=["mail_read", "calendar"] if a % 2 else [],
                status="retired" if a % 9 == 8 else "active",
            )  # fmt: skip
            for t in tenants
            for a in range(APPS_PER_TENANT)
        )
        per_app = sizes["grants"] // len(apps)
        statuses = ["active", "active", "approved", "requested", "expired", "revoked", "rejected"]
        outcomes = ["verified", "verified", "verified", "broken", "over-privileged", "unknown", ""]
        Grant.objects.bulk_create(
            (
                Grant(
                    application=app,
                    model="rbac",
                    role="Application EWS.AccessAsApp",
                    scope=("all", "group", "list")[g % 3],
                    scope_value="sales@example.com",
                    mailboxes=["a@example.com", "b@example.com"],
                    justification="bench",
                    expires_at=now + dt.timedelta(days=30 + g),
                    status=statuses[g % 7],
                    requested_by=user,
                    requested_at=start + dt.timedelta(minutes=n),
                    last_outcome=outcomes[(g + n) % 7],
                )  # fmt: skip
                for n, app in enumerate(apps)
                for g in range(per_app)
            ),
            batch_size=BATCH,
        )
        TenantEws.objects.bulk_create(
            TenantEws(
                tenant=t,
                ews_enabled=("true", "false", "unset")[i % 3],
                allowed_app_ids=[f"00000000-0000-0000-0000-{t.pk:06d}{1:06d}"],
            )  # fmt: skip
            for i, t in enumerate(tenants)
            if t.kind == "online" and i % 2
        )
        integrations = Integration.objects.bulk_create(
            Integration(
                tenant=t,
                name="SharePoint farm",
                product="sharepoint_2019",
                features=["site_mailboxes", "ediscovery", "s2s_oauth"],
            )  # fmt: skip
            for t in tenants
        )
        # As a check stores it: English detail plus its translatable form.
        detail = N_("the server closed the connection (%(reason)s)", reason="timed out")
        FeatureStatus.objects.bulk_create(
            FeatureStatus(
                integration=i,
                feature=f,
                status=("green", "amber", "red")[n % 3],
                step="Sign in",
                detail=str(detail),
                texts={"detail_msg": detail.to_json()},
                checked_at=now,
                since=now,
            )  # fmt: skip
            for n, i in enumerate(integrations)
            for f in i.features
        )
    return sizes


def load_missing(now: dt.datetime) -> bool:
    """Load what the database lacks, each part in one transaction: everything into a new
    database, only the EWS jobs into one loaded before they were part of the data set. True if
    anything was loaded."""
    from bench import pages_data_ewsjobs
    from portal.tenants.models import Tenant

    done = False
    if not Tenant.objects.filter(name__startswith=MARKER).exists():
        load(now)
        done = True
    if not pages_data_ewsjobs.loaded():
        pages_data_ewsjobs.load(now)
        done = True
    return done
