"""Benchmark: publish 10,000 calendar events into 100 sandbox mailboxes through the real job path.

Starts the sandbox Exchange (its own process), a fresh embedded portal (SQLite, file-system
broker) and Celery worker processes (prefork, one per core, as ``make run`` does), then:

* reference: plain exchangelib ``bulk_create`` in batches of 100 at zero latency, one process per
  core — what this machine's CPU allows (client and sandbox together);
* naive: an exchangelib loop saving one event at a time, on a sample, at the bench latency;
* the job: ``ews_job``'s engine with the sandbox at ``--latency-ms`` (500) and a concurrency cap
  of ``--cap`` (27) per application, until it ends; then every mailbox is read back.

Prints one JSON line: events, seconds, events_per_s, throttle_ceiling_per_s (cap × batch ÷
latency), reference_ceiling_per_s, naive_per_s, duplicates, peak_rss_mb (the workers' peak, all
processes), plus batch, target_ratio (events_per_s ÷ 0.8·min(ceilings)) and naive_ratio.

Usage: .venv/bin/python bench/ews_publish.py [--events 10000] [--mailboxes 100]
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import multiprocessing
import os
import secrets
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))


def portal_env(var: Path) -> dict:
    from cryptography.fernet import Fernet

    return {
        "DEBUG": "false", "SECURE_HTTPS": "false", "VAR_DIR": str(var),
        "DATABASE_URL": f"sqlite:///{var / 'bench.sqlite3'}",
        "SECRET_KEY": secrets.token_urlsafe(50),
        "FIELD_ENCRYPTION_KEYS": Fernet.generate_key().decode(),
        "AUDIT_KEY": secrets.token_urlsafe(32), "CELERY_BROKER_URL": "filesystem://",
        "DJANGO_SETTINGS_MODULE": "portal.settings",
    }  # fmt: skip


def start_sandbox(data: Path, cap: int, mailboxes: int) -> tuple[subprocess.Popen, dict]:
    proc = subprocess.Popen(
        [sys.executable, "-m", "connectivity.sandbox", "--data", str(data), "--log-level",
         "WARNING", "--seed-mailboxes", str(mailboxes), "--max-concurrency", str(cap)],
        cwd=REPO, stdout=subprocess.PIPE, text=True,
    )  # fmt: skip
    return proc, json.loads(proc.stdout.readline())


def event_specs(n: int, tag: str) -> list[dict]:
    day = dt.datetime(2027, 1, 4, 9, tzinfo=dt.UTC)
    return [{"subject": f"{tag} {i}", "start": (day + dt.timedelta(hours=i % 2000)).isoformat(),
             "end": (day + dt.timedelta(hours=i % 2000, minutes=30)).isoformat(),
             "location": "Hall"} for i in range(n)]  # fmt: skip


# --- plain exchangelib (reference and naive) ---------------------------------------------------
def _account(info: dict, app: dict, mailbox: str):
    from exchangelib import IMPERSONATION, Account, Configuration, FailFast

    from connectivity.ews import fetch_token, oauth_credentials, trust_ca

    trust_ca(info["ews_url"], info["ca_file"])
    token = fetch_token(info["token_url"], app["client_id"], app["client_secret"],
                        ca_file=info["ca_file"], timeout=60)  # fmt: skip
    creds = oauth_credentials(info["token_url"], app["client_id"], app["client_secret"],
                              token=token)  # fmt: skip
    config = Configuration(service_endpoint=info["ews_url"], credentials=creds,
                           retry_policy=FailFast(), max_connections=4)  # fmt: skip
    return Account(mailbox, config=config, autodiscover=False, access_type=IMPERSONATION)


def _reference_worker(info, app, mailboxes, per_process, queue):
    from exchangelib import CalendarItem

    accounts = [_account(info, app, m) for m in mailboxes]
    specs = event_specs(per_process, "Reference")
    start = time.perf_counter()
    for n, first in enumerate(range(0, per_process, 100)):
        account = accounts[n % len(accounts)]
        items = [CalendarItem(account=account, folder=account.calendar, subject=s["subject"],
                              start=dt.datetime.fromisoformat(s["start"]),
                              end=dt.datetime.fromisoformat(s["end"]), location=s["location"])
                 for s in specs[first:first + 100]]  # fmt: skip
        results = account.bulk_create(folder=account.calendar, items=items)
        assert not [r for r in results if isinstance(r, Exception)], results[:3]
    queue.put((per_process, time.perf_counter() - start))


def reference(info, app, mailboxes, per_process) -> float:
    cores = os.cpu_count() or 1
    queue = multiprocessing.Queue()
    procs = [multiprocessing.Process(target=_reference_worker, args=(
        info, app, mailboxes[i::cores][:5], per_process, queue)) for i in range(cores)]  # fmt: skip
    start = time.perf_counter()
    for p in procs:
        p.start()
    done = [queue.get(timeout=600) for _ in procs]
    wall = time.perf_counter() - start
    for p in procs:
        p.join()
    return sum(n for n, _ in done) / wall


def naive(info, app, mailbox, sample) -> float:
    from exchangelib import CalendarItem

    account = _account(info, app, mailbox)
    start = time.perf_counter()
    for s in event_specs(sample, "Naive"):
        item = CalendarItem(
            account=account,
            folder=account.calendar,
            subject=s["subject"],
            start=dt.datetime.fromisoformat(s["start"]),
            end=dt.datetime.fromisoformat(s["end"]),
            location=s["location"],
        )
        item.save()
    return sample / (time.perf_counter() - start)


# --- the job ------------------------------------------------------------------------------------
def rss_mb(root_pid: int) -> float:
    """Resident memory of a process and all its descendants."""
    total, stack = 0, [root_pid]
    while stack:
        pid = stack.pop()
        try:
            status = Path(f"/proc/{pid}/status").read_text()
            children = Path(f"/proc/{pid}/task/{pid}/children").read_text().split()
        except OSError:
            continue
        total += next((int(line.split()[1]) for line in status.splitlines()
                       if line.startswith("VmRSS:")), 0)  # fmt: skip
        stack += [int(c) for c in children]
    return total / 1024


def count_duplicates(info, app, mailboxes, prefix) -> tuple[int, int]:
    """(events found, duplicates) over every mailbox, read with a few threads."""
    from concurrent.futures import ThreadPoolExecutor

    def one(mailbox):
        account = _account(info, app, mailbox)
        subjects = [i.subject for i in account.calendar.filter(subject__startswith=prefix)
                    .only("subject")]  # fmt: skip
        return len(subjects), len(subjects) - len(set(subjects))

    with ThreadPoolExecutor(8) as pool:
        rows = list(pool.map(one, mailboxes))
    return sum(r[0] for r in rows), sum(r[1] for r in rows)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=10_000)
    parser.add_argument("--mailboxes", type=int, default=100)
    parser.add_argument("--latency-ms", type=int, default=500)
    parser.add_argument("--cap", type=int, default=27)
    parser.add_argument("--reference-events", type=int, default=2000, help="per process")
    parser.add_argument("--naive-sample", type=int, default=10)
    parser.add_argument("--keep", action="store_true", help="keep the bench folder")
    args = parser.parse_args()

    var = Path(tempfile.mkdtemp(prefix="ews-publish-", dir=REPO / "var" if (REPO / "var").is_dir()
                                else None))  # fmt: skip
    env = portal_env(var)
    os.environ.update(env)
    sandbox, info = start_sandbox(var / "sandbox", args.cap, args.mailboxes)
    workers = None
    try:
        import django

        django.setup()
        from django.core.management import call_command

        from connectivity.sandbox.client import AdminClient

        call_command("migrate", verbosity=0)
        admin = AdminClient.from_info(info, timeout=60)
        app = admin.create_app("bench-publisher", scope="all")
        admin.set_grant(app["client_id"], "all")
        mailboxes = [m["address"] for m in info["mailboxes"]][: args.mailboxes]

        ref = reference(info, app, mailboxes, args.reference_events)
        admin.set_knobs(latency_ms=args.latency_ms, max_concurrency=args.cap)
        slow = naive(info, app, mailboxes[0], args.naive_sample)

        ewsjob = _start_job(info, app, mailboxes, args)
        cores = os.cpu_count() or 1
        workers = subprocess.Popen(
            [sys.executable, "-m", "celery", "-A", "portal", "worker", f"--concurrency={cores}",
             "--without-mingle", "--without-gossip", "--loglevel=WARNING", "--hostname=bench@%h"],
            cwd=REPO, env={**os.environ, "EWS_MAX_CONCURRENCY": str(args.cap),
                           "EWS_JOB_RUNNERS": str(cores)},
            stdout=subprocess.DEVNULL, stderr=open(var / "worker.log", "w"),  # noqa: SIM115
        )  # fmt: skip
        peak = _watch(ewsjob, workers)
        from portal.jobs.models import Job

        job = Job.objects.get(pk=ewsjob.pk)
        seconds = (job.finished_at - job.started_at).total_seconds()
        admin.set_knobs(latency_ms=0)
        found, duplicates = count_duplicates(info, app, mailboxes, "Bench ")
        ewsjob.refresh_from_db()
        per_item_ms = args.latency_ms / 1000
        throttle = args.cap * ewsjob.batch_size / per_item_ms if per_item_ms else float("inf")
        events_per_s = ewsjob.done / seconds if seconds else 0.0
        print(json.dumps({
            "events": found, "seconds": round(seconds, 2), "events_per_s": round(events_per_s, 1),
            "throttle_ceiling_per_s": round(throttle, 1),
            "reference_ceiling_per_s": round(ref, 1), "naive_per_s": round(slow, 2),
            "duplicates": duplicates, "peak_rss_mb": round(peak, 1), "batch": ewsjob.batch_size,
            "status": job.status, "failed": ewsjob.failed,
            "target_ratio": round(events_per_s / (0.8 * min(throttle, ref)), 3),
            "naive_ratio": round(events_per_s / slow, 1) if slow else None,
        }))  # fmt: skip
    finally:
        if workers is not None:
            workers.terminate()
            workers.wait(30)
        sandbox.terminate()
        sandbox.wait(30)
        if not args.keep:
            shutil.rmtree(var, ignore_errors=True)


def _start_job(info, app, mailboxes, args):
    from django.utils import timezone

    from portal.ewsjobs import start
    from portal.grants.models import Application, Grant
    from portal.tenants.sandbox import register_sandbox_tenant

    tenant = register_sandbox_tenant(info)[0]
    application = Application.objects.create(
        tenant=tenant, name="Bench publisher", owner="bench", client_id=app["client_id"],
        credential_secret=app["client_secret"], protocols=["ews"],
    )  # fmt: skip
    grant = Grant.objects.create(
        application=application, model="rbac", role="Application EWS.AccessAsApp", scope="list",
        mailboxes=mailboxes, justification="bench", status="active",
        expires_at=timezone.now() + dt.timedelta(days=1),
    )  # fmt: skip
    per_mailbox = args.events // len(mailboxes)
    return start.start(kind="publish", tenant=tenant, grant=grant, targets=mailboxes,
                       params={"events": event_specs(per_mailbox, "Bench")})  # fmt: skip


def _watch(ewsjob, workers) -> float:
    from portal.jobs.models import Job

    peak = 0.0
    stop = threading.Event()

    def sample():
        nonlocal peak
        while not stop.wait(0.2):
            peak = max(peak, rss_mb(workers.pid))

    watcher = threading.Thread(target=sample, daemon=True)
    watcher.start()
    deadline = time.monotonic() + 1800
    while time.monotonic() < deadline and not Job.objects.get(pk=ewsjob.pk).is_done:
        if workers.poll() is not None:
            raise SystemExit("the Celery worker exited; see worker.log")
        time.sleep(0.25)
    stop.set()
    watcher.join()
    return peak


if __name__ == "__main__":
    main()
