"""Benchmark: plan and apply a configuration document of 1,000 tenants.

Creates (or reuses) a database, migrates it, removes earlier benchmark tenants, writes a document
of ``--tenants`` Exchange Online tenants (one client secret each, from the environment), then
times ``config apply --check`` (plan) and ``config apply`` (plan and apply, one transaction, one
audit event per tenant) in-process. Prints one JSON line:

    {"tenants": 1000, "plan_s": ..., "apply_s": ..., "reapply_s": ..., "audit_events": 1000}

Usage: .venv/bin/python bench/config_apply.py [--tenants N] [--database-url postgres://...]
(without --database-url: SQLite under var/bench/).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, REPO)
PREFIX = "Bench tenant "


def document(n: int) -> bytes:
    lines = ["version: 1", "tenants:"]
    for i in range(n):
        lines += [
            f"  - name: {PREFIX}{i:05d}",
            f"    directory_id: bench{i:05d}.onmicrosoft.com",
            f"    accepted_domains: [bench{i:05d}.example.com]",
            "    client_id: 11111111-2222-3333-4444-555555555555",
            "    client_secret_env: TENANT_BENCH_CLIENT_SECRET",
            f"    test_mailbox: probe@bench{i:05d}.example.com",
            f"    smtp_host: smtp{i % 7}.example.com",
        ]
    return ("\n".join(lines) + "\n").encode()


def ensure_database(url: str) -> None:
    import psycopg

    base, _, name = url.rpartition("/")
    with psycopg.connect(f"{base}/postgres", autocommit=True) as conn:
        exists = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name]).fetchone()
        if not exists:
            conn.execute(f'CREATE DATABASE "{name}"')


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tenants", type=int, default=1000)
    parser.add_argument("--database-url", help="postgres://… (default: SQLite under var/bench)")
    args = parser.parse_args()

    if args.database_url:
        ensure_database(args.database_url)
        os.environ["DATABASE_URL"] = args.database_url
    os.environ.setdefault("DEBUG", "true")
    os.environ.setdefault("SECURE_HTTPS", "false")
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "portal.settings")
    os.environ.setdefault("VAR_DIR", os.path.join(REPO, "var", "bench"))
    os.environ["TENANT_BENCH_CLIENT_SECRET"] = "bench-client-secret"
    os.makedirs(os.environ["VAR_DIR"], exist_ok=True)
    import django

    django.setup()
    from django.core.management import call_command

    from portal.configuration.planner import run
    from portal.configuration.registry import Context
    from portal.tenants.models import Tenant

    call_command("migrate", verbosity=0)
    Tenant.objects.filter(name__startswith=PREFIX).delete()
    data = document(args.tenants)
    source = {"via": "bench"}

    started = time.perf_counter()
    plan = run(data, Context())
    plan_s = time.perf_counter() - started
    assert plan.valid and plan.summary()["create"] == args.tenants, plan.errors[:3]

    started = time.perf_counter()
    applied = run(data, Context(), apply=True, source=source)
    apply_s = time.perf_counter() - started
    assert applied.applied and applied.audit_events == args.tenants

    started = time.perf_counter()
    again = run(data, Context(), apply=True, source=source)
    reapply_s = time.perf_counter() - started
    assert again.audit_events == 0

    print(
        json.dumps(
            {
                "tenants": args.tenants,
                "database": "postgresql" if args.database_url else "sqlite",
                "plan_s": round(plan_s, 3),
                "apply_s": round(apply_s, 3),
                "reapply_s": round(reapply_s, 3),
                "audit_events": applied.audit_events,
            }
        )
    )


if __name__ == "__main__":
    main()
