"""Audit review at scale: a time range read as a run of seq, free text led by its rarest word,
rows built in Python (escaped), the filter form's markup reused, the chain read once a page."""

import datetime as dt

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from portal.audit import narrowing
from portal.audit.api import record
from portal.audit.bulk import bulk_append
from portal.audit.models import AuditEvent

pytestmark = pytest.mark.django_db

# After every event the fixtures record (sign-ins happen now): created_at grows with seq.
T0 = dt.datetime.now(dt.UTC).replace(second=0, microsecond=0) + dt.timedelta(days=1)


def _minutes(*offsets):
    """One event per offset (minutes after T0); equal offsets share a created_at."""
    bulk_append(
        {"action": "tenant.update", "target_label": f"event {i}",
         "created_at": T0 + dt.timedelta(minutes=m)}
        for i, m in enumerate(offsets)
    )  # fmt: skip


def _at(minutes: int) -> str:
    return (T0 + dt.timedelta(minutes=minutes)).strftime("%Y-%m-%dT%H:%M")


def _listed(client, **params) -> list[int]:
    response = client.get("/audit/", params)
    assert response.status_code == 200
    return [e.seq for e in response.context["events"]]


def _expected(since=None, until=None) -> list[int]:
    events = AuditEvent.objects.order_by("-seq")
    return [
        e.seq
        for e in events
        if (since is None or e.created_at >= T0 + dt.timedelta(minutes=since))
        and (until is None or e.created_at < T0 + dt.timedelta(minutes=until))
    ][:50]


def test_time_ranges_list_exactly_the_events_created_in_them(viewer_client):
    # Several events share a minute, including the minutes the ranges start and end on.
    _minutes(0, 1, 1, 1, 2, 3, 3, 5, 5, 5, 8, 13, 13, 21)
    for since, until in [(1, 3), (1, 5), (2, 13), (0, 100), (4, 5), (3, None), (None, 5),
                         (None, 1), (22, None), (-60, 0), (6, 8)]:  # fmt: skip
        params = {}
        if since is not None:
            params["since"] = _at(since)
        if until is not None:
            params["until"] = _at(until)
        assert _listed(viewer_client, **params) == _expected(since, until), params
    assert _expected(2, 13)  # the ranges above are not all empty


def test_a_time_range_is_read_as_a_run_of_seq_with_a_fixed_number_of_queries(viewer_client):
    def page(**params):
        with CaptureQueriesContext(connection) as queries:
            assert viewer_client.get("/audit/", params).status_code == 200
        listing = [q["sql"] for q in queries.captured_queries if "target_label" in q["sql"]]
        return len(queries.captured_queries), listing

    _minutes(*range(0, 20))
    few, listing = page(since=_at(5), until=_at(10))
    assert len(listing) == 1 and '"seq" >=' in listing[0] and '"seq" <' in listing[0]
    _minutes(*range(20, 400))
    many, _ = page(since=_at(5), until=_at(10))
    assert many == few


def test_record_never_dates_an_event_before_the_previous_one():
    # An event dated ahead (a clock that was fast, then corrected) stays the latest time.
    ahead = dt.datetime.now(dt.UTC) + dt.timedelta(hours=1)
    bulk_append([{"action": "clock.fast", "created_at": ahead}])
    event = record("after.correction")
    assert event.created_at == ahead
    assert AuditEvent.objects.get(seq=event.seq).created_at == ahead


LABELS = [
    *(f"user{i}@contoso.com" for i in range(300)),
    "Alice@Contoso.com",
    "alice@fabrikam.com",
    "contoso.com alice",
    "Mailbox 4242",
    "mailbox 42420",
    "mailbox 424",
]


@pytest.mark.parametrize(
    "text",
    ["alice@contoso", "ALICE@CONTOSO.COM", "contoso.com", "mailbox 4242", "box 424", "user17@",
     "@contoso.com alice", "nobody@contoso.com", "4242", "Alice"],
)  # fmt: skip
def test_free_text_finds_the_substring_in_any_case(viewer_client, text):
    bulk_append({"action": "user.update", "target_label": label} for label in LABELS)
    narrowing.forget_sample()
    shown = []
    url, params = "/audit/", {"q": text}
    while url:  # every page
        response = viewer_client.get(url, params)
        shown += [e.target_label for e in response.context["events"]]
        older = response.context["has_older"]
        params = {"q": text, "before": response.context["older_seq"]} if older else None
        url = "/audit/" if older else None
    expected = [label for label in reversed(LABELS) if text.lower() in label.lower()]
    assert shown == expected


@pytest.mark.skipif(connection.vendor != "postgresql", reason="trigram index on PostgreSQL only")
def test_free_text_on_postgresql_asks_the_index_for_the_rare_word_only(viewer_client):
    bulk_append({"action": "user.update", "target_label": label} for label in LABELS)
    narrowing.forget_sample()
    with CaptureQueriesContext(connection) as queries:
        viewer_client.get("/audit/", {"q": "alice@contoso.com"})
    listing = [q["sql"] for q in queries.captured_queries if "STRPOS" in q["sql"]]
    assert len(listing) == 1
    assert "'%alice%'" in listing[0] and "'%contoso%'" not in listing[0]
    # A text of one word, or of common words only, goes to the index whole.
    with CaptureQueriesContext(connection) as queries:
        viewer_client.get("/audit/", {"q": "contoso.com"})
    assert not any("STRPOS" in q["sql"] for q in queries.captured_queries)


def test_rows_escape_what_they_show(viewer_client):
    bulk_append(
        [{"action": "x<y>", "actor_username": "<b>eve</b>", "target_type": '"><i>',
          "target_label": "<script>alert(1)</script>", "tenant_label": "A & B",
          "result": "denied"}]
    )  # fmt: skip
    page = viewer_client.get("/audit/").content.decode()
    assert "<script>alert(1)</script>" not in page and "&lt;script&gt;alert(1)" in page
    assert "<b>eve</b>" not in page and "&lt;b&gt;eve&lt;/b&gt;" in page
    assert "<code>x&lt;y&gt;</code>" in page and "A &amp; B" in page
    assert 'title="&quot;&gt;&lt;i&gt;"' in page
    assert '<span class="status status-denied">Denied</span>' in page


def test_filter_form_markup_follows_the_values_and_the_language(viewer_client):
    record("something")
    for actor in ("alice", "bob", "alice"):
        page = viewer_client.get("/audit/", {"actor": actor}).content.decode()
        assert f'name="actor" value="{actor}"' in page
    page = viewer_client.get("/audit/", {"actor": "bob"}, HTTP_ACCEPT_LANGUAGE="ru").content
    assert 'name="actor" value="bob"' in page.decode() and "Действие" in page.decode()
    page = viewer_client.get("/audit/", {"result": "nonsense"}).content.decode()
    assert 'class="errorlist"' in page  # an invalid filter is explained, not served from memory
    assert 'class="errorlist"' not in viewer_client.get("/audit/").content.decode()


def test_the_chain_status_is_read_once_a_page(admin_client):
    record("something")
    with CaptureQueriesContext(connection) as queries:
        assert admin_client.get("/audit/").status_code == 200
    reads = [q for q in queries.captured_queries if "'audit.verify'" in q["sql"]]
    assert len(reads) == 1


@pytest.mark.skipif(connection.vendor != "postgresql", reason="trigram index on PostgreSQL only")
def test_the_label_index_keeps_no_pending_list():
    with connection.cursor() as cursor:
        cursor.execute("SELECT reloptions FROM pg_class WHERE relname = 'audit_event_label_trgm'")
        assert cursor.fetchone()[0] == ["fastupdate=off"]
