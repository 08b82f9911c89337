"""Benchmark: the dashboard and the list pages at 200 tenants, 50,000 runs, 5,000 relay clients,
20,000 grants and 2,000 EWS jobs (one of 1,000 mailboxes and 20,000 found messages), in
PostgreSQL.

Creates (or reuses) the database, migrates it, loads the data set of ``bench/pages_data.py``
(only what is not loaded yet) and ANALYZEs it, then requests every page in-process through the
real views (Django's test client without the test instrumentation of template rendering,
signed in as an Admin: server time only), ``--repeat`` times each, and once more to count its
SQL queries. Prints one JSON line:

    {"tenants": 200, "runs": 50000, ..., "worst_p95_ms": ..., "all_within_target": true,
     "pages": {"/": {"p50_ms": ..., "p95_ms": ..., "queries": ..., "ok": true}, ...}}

``ok`` is p95 ≤ ``--target-ms`` (100). Usage:
.venv/bin/python bench/pages.py [--database-url postgres://...] [--repeat N]
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import statistics
import sys
import time

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, REPO)


def ensure_database(url: str) -> None:
    import psycopg

    base, _, name = url.rpartition("/")
    with psycopg.connect(f"{base}/postgres", autocommit=True) as conn:
        exists = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name]).fetchone()
        if not exists:
            conn.execute(f'CREATE DATABASE "{name}"')


def pages() -> list[tuple[str, dict]]:
    """(url, extra request headers): every page the dashboard and the list menus lead to, and
    the last page of the long lists."""
    from bench.pages_data import MARKER
    from bench.pages_data_ewsjobs import BIG_KEY
    from portal.ewsjobs.models import EwsJob
    from portal.grants.models import Application
    from portal.tenants.models import Tenant

    tenant = Tenant.objects.filter(name__startswith=MARKER).order_by("name")[7]
    app = Application.objects.filter(tenant=tenant).order_by("name").first()
    big = EwsJob.objects.get(key_base=BIG_KEY).pk  # a search of 1,000 mailboxes, still running
    htmx = {"HTTP_HX_REQUEST": "true"}
    return [
        ("/", {}),
        ("/connectivity/tiles/", htmx),
        ("/grants/tiles/", htmx),
        ("/integrations/tiles/", htmx),
        ("/relay/tiles/", htmx),
        ("/tenants/", {}),
        (f"/tenants/{tenant.pk}/", {}),
        (f"/connectivity/tenants/{tenant.pk}/", htmx),
        ("/connectivity/", {}),
        ("/connectivity/?page=999", {}),  # past the end: the last page, the deepest offset
        (f"/connectivity/tenants/{tenant.pk}/history/smtp/", {}),
        ("/grants/", {}),
        ("/grants/?page=999&apps=999", {}),
        (f"/grants/applications/{app.pk}/", {}),
        ("/grants/ews-retirement/", {}),
        ("/relay/", {}),
        ("/relay/?page=999", {}),
        (f"/relay/?tenant={tenant.pk}", {}),
        ("/integrations/", {}),
        ("/integrations/?page=999&tenants=999", {}),
        ("/jobs/", {}),
        ("/ews-jobs/", {}),
        ("/ews-jobs/?page=999", {}),
        (f"/ews-jobs/{big}/", {}),  # the first page of its mailboxes and of its messages
        (f"/ews-jobs/{big}/", htmx),  # the progress the page polls every 2 s while it runs
        (f"/ews-jobs/{big}/?mpage=999", {}),
        (f"/ews-jobs/{big}/?rpage=999", {}),
        ("/accounts/users/", {}),
    ]


def admin_client():
    from allauth.mfa.models import Authenticator
    from allauth.mfa.totp.internal.auth import generate_totp_secret
    from django.contrib.auth import get_user_model
    from django.test import Client

    from portal.accounts.roles import set_role
    from portal.lib import crypto
    from portal.lib.access import Role

    admin, _ = get_user_model().objects.get_or_create(username="bench-admin")
    set_role(admin, Role.ADMIN)
    # An Admin without a second factor is sent to enrolment: give it one, as the portal stores it.
    Authenticator.objects.get_or_create(
        user=admin, type=Authenticator.Type.TOTP,
        defaults={"data": {"secret": crypto.encrypt(generate_totp_secret())}},
    )  # fmt: skip
    client = Client()
    client.force_login(admin)
    return client


def measure(client, url: str, headers: dict, repeat: int) -> dict:
    from django.db import connection, reset_queries
    from django.test.utils import CaptureQueriesContext

    reset_queries()  # a full log (9,000 entries) would count nothing
    with CaptureQueriesContext(connection) as queries:  # also warms the template cache
        response = client.get(url, **headers)
    assert response.status_code == 200, (url, response.status_code)
    count = len(queries.captured_queries)  # now: the next request clears the log
    samples = []
    for _ in range(repeat):
        t = time.perf_counter()
        response = client.get(url, **headers)
        samples.append((time.perf_counter() - t) * 1000)
        assert response.status_code == 200, (url, response.status_code)
    samples.sort()
    return {
        "p50_ms": round(statistics.median(samples), 1),
        "p95_ms": round(samples[max(0, int(len(samples) * 0.95 + 0.5) - 1)], 1),
        "queries": count,
        "kb": round(len(response.content) / 1024),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--database-url", default="postgres://postgres@127.0.0.1:5432/bench_pages")
    parser.add_argument("--repeat", type=int, default=30, help="timed requests per page")
    parser.add_argument("--target-ms", type=float, default=100.0)
    parser.add_argument("--only", help="measure only the pages whose URL contains this")
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

    from bench import pages_data

    settings.ALLOWED_HOSTS = ["*"]
    # Timed as in production: DEBUG's per-query bookkeeping is off (the counting pass turns it on).
    settings.DEBUG = False
    # No setup_test_environment(): its instrumentation of every template render (a signal and a
    # copy of the context each) is test-client cost, not server time.
    call_command("migrate", verbosity=0)
    started = time.perf_counter()
    load_s = 0.0
    if pages_data.load_missing(dt.datetime.now(dt.UTC)):
        load_s = time.perf_counter() - started
        with connection.cursor() as cursor:
            cursor.execute("ANALYZE")

    client = admin_client()
    results = {}
    urls = pages()
    full_pages = {url for url, headers in urls if not headers}
    for url, headers in urls:
        if args.only and args.only not in url:
            continue
        # A page and the partial its htmx polls fetch share the URL: the partial is marked.
        key = f"{url} (htmx)" if headers and url in full_pages else url
        results[key] = measure(client, url, headers, args.repeat)
        results[key]["ok"] = results[key]["p95_ms"] <= args.target_ms
    worst = max(r["p95_ms"] for r in results.values())
    print(json.dumps({
        **pages_data.SIZES, "load_s": round(load_s, 1), "repeat": args.repeat,
        "target_ms": args.target_ms, "worst_p95_ms": worst,
        "all_within_target": all(r["ok"] for r in results.values()), "pages": results,
    }))  # fmt: skip


if __name__ == "__main__":
    main()
