"""Benchmark: the audit review page and export over 1,000,000 events in PostgreSQL.

Creates (or reuses) a PostgreSQL database, migrates it, loads ``--rows`` hash-chained events with
``portal.audit.bulk.bulk_append`` (skipped when already loaded), then requests the list page
in-process through the whole middleware stack (Django's test client without the test
instrumentation of template rendering, so server time only) ``--repeat`` times per filter, round
robin over the filters, plus each filter's second page, timing every SQL statement on the way,
and streams one filtered JSON Lines export under tracemalloc. Prints one JSON line:

    {"rows": 1000000, "p50_ms": ..., "p95_ms": ..., "sql_ms_share": ..., "cpu_p50_ms": ...,
     "export_rows": ..., "export_peak_mb": ..., "median_ms_per_filter": {...},
     "filters": [{"filter": "{...}", "p50_ms": ..., "p95_ms": ..., "sql_ms_share": ...,
                  "cpu_p50_ms": ..., "queries": ...}, ...]}

``sql_ms_share`` is the share of the request time spent waiting for SQL statements;
``cpu_p50_ms`` the median CPU time of this process per request (the page's own Python work,
which other load on a shared machine does not inflate as it does wall time); ``queries`` is how
many statements one request of that filter sends.

Usage: .venv/bin/python bench/audit_list.py [--rows N] [--database-url postgres://...]
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import re
import statistics
import sys
import time
import tracemalloc

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, REPO)

FILTERS = [
    {},
    {"actor": "user-7"},
    {"action": "tenant.update"},
    {"action": "auth."},
    {"result": "denied"},
    {"target_type": "tenants.tenant", "tenant": "3"},
    {"since": "2026-01-02T00:00", "until": "2026-01-03T00:00"},
    {"q": "mailbox 4242"},
]
ACTIONS = ("auth.login", "auth.logout", "tenant.update", "job.start", "run.finish", "grant.approve")


def rows(n: int, start: dt.datetime):
    for i in range(n):
        yield {
            "action": ACTIONS[i % len(ACTIONS)],
            "actor_username": f"user-{i % 50}",
            "actor_id": i % 50,
            "target_type": ("tenants.tenant", "auth.user", "jobs.job")[i % 3],
            "target_id": str(i % 1000),
            "target_label": f"mailbox {i % 10_000}",
            "tenant_id": str(i % 20),
            "tenant_label": f"Tenant {i % 20}",
            "result": "denied" if i % 97 == 0 else "success",
            "after": {"n": i, "note": "benchmark"},
            "client_ip": "192.0.2.10",
            "created_at": start + dt.timedelta(seconds=i * 0.25),
        }


OLDER = re.compile(r'rel="next" href="[^"]*before=(\d+)"')


class SqlClock:
    """Times every statement the page sends (``connection.execute_wrapper``)."""

    def __init__(self):
        self.reset()

    def reset(self):
        self.ms, self.count = 0.0, 0

    def __call__(self, execute, sql, params, many, context):
        started = time.perf_counter()
        try:
            return execute(sql, params, many, context)
        finally:
            self.ms += (time.perf_counter() - started) * 1000
            self.count += 1


def p95(samples: list[float]) -> float:
    ordered = sorted(samples)
    return round(ordered[max(0, int(len(ordered) * 0.95) - 1)], 2)


def ensure_database(url: str) -> None:
    import psycopg

    base, _, name = url.rpartition("/")
    with psycopg.connect(f"{base}/postgres", autocommit=True) as conn:
        exists = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name]).fetchone()
        if not exists:
            conn.execute(f'CREATE DATABASE "{name}"')


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument(
        "--database-url", default="postgres://postgres@127.0.0.1:5432/portal_bench_audit"
    )
    parser.add_argument("--repeat", type=int, default=40, help="requests per filter")
    args = parser.parse_args()

    ensure_database(args.database_url)
    os.environ["DATABASE_URL"] = args.database_url
    os.environ.setdefault("DEBUG", "true")
    os.environ.setdefault("SECURE_HTTPS", "false")
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "portal.settings")
    os.environ.setdefault("VAR_DIR", os.path.join(REPO, "var", "bench"))
    import django

    django.setup()
    from django.conf import settings
    from django.core.management import call_command
    from django.db import connection
    from django.test import Client

    from portal.accounts.roles import set_role
    from portal.audit.bulk import bulk_append
    from portal.audit.models import AuditEvent
    from portal.lib.access import Role

    settings.ALLOWED_HOSTS = ["*"]
    call_command("migrate", verbosity=0)
    have = AuditEvent.objects.count()
    if have < args.rows:
        start = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)
        started = time.perf_counter()
        bulk_append(rows(args.rows - have, start), batch_size=20_000)
        load_s = time.perf_counter() - started
        with connection.cursor() as cursor:
            cursor.execute("ANALYZE audit_auditevent")
    else:
        load_s = 0.0

    from django.contrib.auth import get_user_model

    viewer, _ = get_user_model().objects.get_or_create(username="bench-viewer")
    set_role(viewer, Role.VIEWER)
    client = Client()
    client.force_login(viewer)

    sql = SqlClock()
    samples = {json.dumps(params): [] for params in FILTERS}
    sql_ms = dict.fromkeys(samples, 0.0)
    queries = dict.fromkeys(samples, 0)
    cpu = {key: [] for key in samples}

    def timed(key, params):
        sql.reset()
        t, c = time.perf_counter(), time.process_time()
        response = client.get("/audit/", params)
        samples[key].append((time.perf_counter() - t) * 1000)
        cpu[key].append((time.process_time() - c) * 1000)
        sql_ms[key] += sql.ms
        assert response.status_code == 200, response.status_code

    with connection.execute_wrapper(sql):
        # Round robin: a burst of other work on the machine lands on every filter alike.
        for _ in range(args.repeat):
            for params in FILTERS:
                key = json.dumps(params)
                timed(key, params)
                queries[key] = sql.count
        # Page two too (keyset): follow "older" once per filter.
        for params in FILTERS:
            older = OLDER.search(client.get("/audit/", params).content.decode())
            if older:
                timed(json.dumps(params), {**params, "before": older.group(1)})

    per_filter = {key: round(statistics.median(ms), 2) for key, ms in samples.items()}
    filters = [
        {
            "filter": key,
            "p50_ms": round(statistics.median(ms), 2),
            "p95_ms": p95(ms),
            "sql_ms_share": round(sql_ms[key] / sum(ms), 3),
            "cpu_p50_ms": round(statistics.median(cpu[key]), 2),
            "queries": queries[key],
        }
        for key, ms in samples.items()
    ]
    times = [t for ms in samples.values() for t in ms]
    sql_total = sum(sql_ms.values())

    export_params = {"actor": "user-7"}
    response = client.get("/audit/export.jsonl", export_params)
    tracemalloc.start()
    exported = 0
    for chunk in response.streaming_content:
        exported += chunk.count(b"\n")
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()

    print(
        json.dumps(
            {
                "rows": AuditEvent.objects.order_by("-seq").values_list("seq", flat=True).first(),
                "load_s": round(load_s, 1),
                "p50_ms": round(statistics.median(times), 2),
                "p95_ms": p95(times),
                "sql_ms_share": round(sql_total / sum(times), 3),
                "cpu_p50_ms": round(statistics.median([c for ms in cpu.values() for c in ms]), 2),
                "export_rows": exported,
                "export_peak_mb": round(peak / 1024 / 1024, 2),
                "median_ms_per_filter": per_filter,
                "filters": filters,
            }
        )
    )


if __name__ == "__main__":
    main()
