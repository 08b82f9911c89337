"""Audit review: filters, keyset paging, detail diff, streamed exports, chain panel."""

import csv
import datetime as dt
import io
import json
import tracemalloc

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from portal.audit.api import record
from portal.audit.bulk import bulk_append
from portal.audit.models import AuditEvent
from portal.audit.verify import verify_chain

pytestmark = pytest.mark.django_db

T0 = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)


def _rows(n, **extra):
    for i in range(n):
        yield {
            "action": ("auth.login", "tenant.update", "job.start")[i % 3],
            "actor_username": ("alice", "bob")[i % 2],
            "target_type": "tenants.tenant" if i % 3 == 1 else "auth.user",
            "target_label": f"Contoso {i}",
            "tenant_id": str(i % 4),
            "result": "denied" if i % 10 == 0 else "success",
            "created_at": T0 + dt.timedelta(minutes=i),
            **extra,
        }


def test_bulk_helper_builds_a_valid_chain():
    record("first")
    assert bulk_append(_rows(500), batch_size=128) == 500
    record("last")
    assert verify_chain() == (502, None, "")


def test_each_filter(viewer_client):
    bulk_append(_rows(120))

    def seqs(**params):
        response = viewer_client.get("/audit/", params)
        assert response.status_code == 200
        return [e.seq for e in response.context["events"]]

    assert len(seqs()) == 50
    assert all(AuditEvent.objects.get(seq=s).actor_username == "bob" for s in seqs(actor="bob"))
    assert {AuditEvent.objects.get(seq=s).action for s in seqs(action="auth.")} == {"auth.login"}
    assert {AuditEvent.objects.get(seq=s).action for s in seqs(action="job.start")} == {"job.start"}
    assert len(seqs(result="denied")) == 12
    assert len(seqs(target_type="tenants.tenant", tenant="1")) == 10
    labels = [AuditEvent.objects.get(seq=s).target_label for s in seqs(q="contoso 7")]
    assert labels == ["Contoso 79", "Contoso 78", *[f"Contoso {i}" for i in range(77, 69, -1)],
                      "Contoso 7"]  # fmt: skip
    since = (T0 + dt.timedelta(minutes=10)).strftime("%Y-%m-%dT%H:%M")
    until = (T0 + dt.timedelta(minutes=20)).strftime("%Y-%m-%dT%H:%M")
    labels = [AuditEvent.objects.get(seq=s).target_label for s in seqs(since=since, until=until)]
    assert labels == [f"Contoso {i}" for i in range(19, 9, -1)]
    assert seqs(result="nonsense") == []  # an invalid filter shows nothing, not everything


def test_keyset_paging_walks_every_event_once_without_counting(viewer_client):
    bulk_append(_rows(173))
    seen, url = [], "/audit/?actor=alice"
    while url:
        with CaptureQueriesContext(connection) as queries:
            response = viewer_client.get(url)
        sql = " ".join(q["sql"].upper() for q in queries.captured_queries)
        assert "COUNT(" not in sql
        page = [e.seq for e in response.context["events"]]
        assert page == sorted(page, reverse=True)
        seen += page
        older = response.context["has_older"]
        url = f"/audit/?actor=alice&before={response.context['older_seq']}" if older else None
    expected = list(AuditEvent.objects.filter(actor_username="alice").values_list("seq", flat=True))
    assert seen == expected  # newest first, no gaps, no repeats
    # And back to newer pages from the oldest one.
    back = viewer_client.get(f"/audit/?actor=alice&after={seen[-1]}")
    assert [e.seq for e in back.context["events"]] == seen[-51:-1]


def test_htmx_results_partial(viewer_client):
    bulk_append(_rows(3))
    response = viewer_client.get("/audit/?partial=results&actor=bob", HTTP_HX_REQUEST="true")
    assert (
        b'id="audit-results"' in response.content and b'<nav class="sidenav' not in response.content
    )


def test_detail_shows_a_readable_diff(viewer_client):
    event = record(
        "tenant.update",
        target={"type": "tenants.tenant", "id": 3, "label": "Contoso"},
        before={"name": "Old", "port": 25, "gone": True},
        after={"name": "New", "port": 25, "tls": {"verify": False}},
    )
    response = viewer_client.get(f"/audit/event/{event.seq}/")
    assert response.status_code == 200
    diff = {row["key"]: row for row in response.context["diff"]}
    assert diff["name"]["change"] == "changed" and diff["name"]["after"] == "New"
    assert diff["port"]["change"] == "same"
    assert diff["gone"]["change"] == "removed"
    assert diff["tls"]["change"] == "added" and diff["tls"]["after"] == '{"verify": false}'
    assert response.context["hash_ok"] is True
    assert viewer_client.get("/audit/event/999999/").status_code == 404


def test_exports_follow_the_filter_and_are_audited(viewer_client):
    bulk_append(_rows(30))
    response = viewer_client.get("/audit/export.csv?actor=bob&result=success")
    assert response.streaming and response["Content-Type"] == "text/csv"
    rows = list(csv.DictReader(io.StringIO(b"".join(response.streaming_content).decode())))
    assert rows and {r["actor_username"] for r in rows} == {"bob"}
    assert {r["result"] for r in rows} == {"success"}

    response = viewer_client.get("/audit/export.jsonl?action=auth.&actor=alice")
    lines = [json.loads(x) for x in b"".join(response.streaming_content).decode().splitlines()]
    assert len(lines) == 5 and {x["action"] for x in lines} == {"auth.login"}
    assert [x["seq"] for x in lines] == sorted((x["seq"] for x in lines), reverse=True)
    exports = AuditEvent.objects.filter(action="audit.export").order_by("seq")
    assert [e.after["format"] for e in exports] == ["csv", "jsonl"]
    assert exports[0].after["filters"] == {"actor": "bob", "result": "success"}
    assert exports[1].after["filters"] == {"action": "auth.", "actor": "alice"}
    assert viewer_client.get("/audit/export.xml").status_code == 404


def test_csv_export_defuses_spreadsheet_formulas(viewer_client):
    record("x", target={"type": "t", "id": 1, "label": '=HYPERLINK("http://evil")'})
    body = b"".join(viewer_client.get("/audit/export.csv").streaming_content).decode()
    assert "'=HYPERLINK" in body


def test_export_of_100k_events_streams_in_bounded_memory(viewer_client):
    bulk_append(_rows(100_000), batch_size=10_000)
    response = viewer_client.get("/audit/export.jsonl")
    tracemalloc.start()
    lines = 0
    for chunk in response.streaming_content:
        lines += chunk.count(b"\n")
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    assert lines == AuditEvent.objects.count() > 100_000
    assert peak < 16 * 1024 * 1024, f"peak {peak / 1e6:.1f} MB"


def test_chain_panel_shows_the_last_verification(viewer_client, admin_client):
    from portal.audit.tasks import verify_chain_task

    record("something")
    verify_chain_task()
    response = viewer_client.get("/audit/")
    assert response.context["last_verify"].action == "audit.verify"
    assert b"intact" in response.content
    assert b"Verify now" not in response.content
    assert b"Verify now" in admin_client.get("/audit/").content
