"""Streamed exports of a filtered audit log: CSV or JSON Lines, in constant memory."""

import csv
import json

from portal.audit.models import AuditEvent

COLUMNS = (
    "seq", "created_at", "actor_id", "actor_username", "action", "target_type", "target_id",
    "target_label", "tenant_id", "tenant_label", "result", "client_ip", "user_agent",
    "request_id", "job_id", "before", "after", "prev_hash", "hash",
)  # fmt: skip
CHUNK = 1000


def iter_rows(qs, chunk: int = CHUNK):
    """Yield value dicts newest first, fetching ``chunk`` rows at a time by ``seq`` (keyset)."""
    qs = qs.order_by("-seq").values(*COLUMNS)
    cursor = None
    while True:
        page = list((qs.filter(seq__lt=cursor) if cursor is not None else qs)[:chunk])
        if not page:
            return
        yield from page
        cursor = page[-1]["seq"]


def _plain(row: dict) -> dict:
    row = dict(row)
    row["created_at"] = row["created_at"].isoformat(timespec="microseconds")
    return row


def jsonl_lines(rows):
    for row in rows:
        yield json.dumps(_plain(row), ensure_ascii=False, separators=(",", ":")) + "\n"


class _Line:
    def write(self, value):
        return value


def csv_lines(rows):
    writer = csv.writer(_Line())
    yield writer.writerow(COLUMNS)
    for row in rows:
        row = _plain(row)
        for key in ("before", "after"):
            row[key] = "" if row[key] is None else json.dumps(row[key], ensure_ascii=False)
        yield writer.writerow([_safe(row[c]) for c in COLUMNS])


def _safe(value):
    # Spreadsheet formula injection: a cell must not start with = + - @ when opened in Excel.
    if isinstance(value, str) and value[:1] in ("=", "+", "-", "@", "\t", "\r"):
        return "'" + value
    return "" if value is None else value


def queryset():
    return AuditEvent.objects.all()
