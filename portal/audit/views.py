import json

from django.contrib import messages
from django.http import Http404, StreamingHttpResponse
from django.shortcuts import redirect
from django.utils import timezone
from django.utils.http import urlencode
from django.utils.translation import gettext as _
from django.utils.translation import gettext_noop
from django.views.decorators.http import require_GET, require_http_methods

from portal.audit import export
from portal.audit.alerts import ChainAlert, latest_verification
from portal.audit.api import record
from portal.audit.filters import AuditFilterForm
from portal.audit.models import AuditEvent
from portal.audit.rows import rows_html
from portal.audit.targets import target_name
from portal.audit.tasks import verify_chain_task
from portal.jobs.api import QueueUnavailable, start_job
from portal.lib.access import Role, requires
from portal.lib.htmx import render
from portal.lib.validators import ascii_int

PAGE_SIZE = 50
LIST_COLUMNS = ("seq", "created_at", "actor_username", "action", "target_type", "target_label",
                "tenant_label", "result")  # fmt: skip


def chain_status() -> dict:
    """The latest verification (an audit event itself) and what it found; the Admins' banner
    reads the same event instead of asking again."""
    last = latest_verification()
    return {
        "last_verify": last,
        "outcome": (last.after or {}) if last else {},
        "audit_chain_alert": ChainAlert(latest=last),
    }


def _page(qs, request):
    """Newest first, keyset on ``seq``: ``before`` pages to older events, ``after`` to newer.

    Rows are named tuples of the listed columns: the page only shows them, and building model
    instances cost more than the query."""
    before, after = ascii_int(request.GET.get("before")), ascii_int(request.GET.get("after"))
    qs = qs.values_list(*LIST_COLUMNS, named=True)
    if after is not None:
        rows = list(qs.filter(seq__gt=after).order_by("seq")[: PAGE_SIZE + 1])
        has_newer = len(rows) > PAGE_SIZE
        rows = rows[:PAGE_SIZE][::-1]
        has_older = bool(rows) and qs.filter(seq__lt=rows[-1].seq).exists()
    else:
        if before is not None:
            qs = qs.filter(seq__lt=before)
        rows = list(qs.order_by("-seq")[: PAGE_SIZE + 1])
        has_older = len(rows) > PAGE_SIZE
        rows = rows[:PAGE_SIZE]
        has_newer = before is not None and bool(rows)
    return rows, has_older, has_newer


@requires(read=Role.VIEWER, change=Role.ADMIN)
@require_http_methods(["GET", "POST"])
def event_list(request):
    if request.method == "POST":
        # "Verify now": walk the chain in the background; the outcome is an audit event itself.
        try:
            job = start_job(
                verify_chain_task,
                kind="audit.verify",
                label=gettext_noop("Verify audit chain"),
                kwargs={},
            )
        except QueueUnavailable as exc:
            messages.error(request, str(exc))
            return redirect("audit:list")
        messages.success(request, _("Chain verification started."))
        return redirect("jobs:detail", job_id=job.pk)
    form = AuditFilterForm(request.GET or None)
    qs = form.filter(AuditEvent.objects.all()) if form.is_bound else AuditEvent.objects.all()
    events, has_older, has_newer = _page(qs, request)
    query = urlencode(form.active()) if form.is_bound else ""
    partial = "results" if request.GET.get("partial") == "results" else "content"
    # The results alone (htmx) show no chain panel and no banner: skip its query.
    chain = {} if partial == "results" and getattr(request, "htmx", False) else chain_status()
    return render(
        request,
        "audit/list.html",
        {
            "form": form,
            "events": events,
            "rows": rows_html(events),
            "has_older": has_older,
            "has_newer": has_newer,
            "older_seq": events[-1].seq if events else None,
            "newer_seq": events[0].seq if events else None,
            "query": query,
            "filtered": bool(query),
            **chain,
        },
        partial=partial,
    )


def diff_rows(before, after) -> list[dict]:
    """One row per key: changed, added, removed or unchanged, values shown as JSON text."""
    before = before if isinstance(before, dict) else ({} if before is None else {"": before})
    after = after if isinstance(after, dict) else ({} if after is None else {"": after})
    rows = []
    for key in list(dict.fromkeys([*before, *after])):
        old, new = before.get(key), after.get(key)
        if key not in before:
            change = "added"
        elif key not in after:
            change = "removed"
        else:
            change = "changed" if old != new else "same"
        rows.append(
            {
                "key": key,
                "change": change,
                "before": _show(old) if key in before else "",
                "after": _show(new) if key in after else "",
            }
        )
    return rows


def _show(value) -> str:
    if isinstance(value, str):
        return value
    return json.dumps(value, ensure_ascii=False, sort_keys=True)


@requires(read=Role.VIEWER, change=Role.ADMIN)
@require_GET
def event_detail(request, seq):
    event = AuditEvent.objects.filter(seq=seq).first()
    if event is None:
        raise Http404
    neighbours = {
        "previous": AuditEvent.objects.filter(seq__lt=seq).order_by("-seq").values("seq").first(),
        "next": AuditEvent.objects.filter(seq__gt=seq).order_by("seq").values("seq").first(),
    }
    return render(
        request,
        "audit/detail.html",
        {
            "event": event,
            "target_name": target_name(event.target_type),
            "diff": diff_rows(event.before, event.after),
            "hash_ok": event.compute_hash() == event.hash,
            **neighbours,
        },
    )


@requires(read=Role.VIEWER, change=Role.ADMIN)
@require_GET
def event_export(request, fmt):
    if fmt not in ("csv", "jsonl"):
        raise Http404
    form = AuditFilterForm(request.GET or None)
    qs = form.filter(AuditEvent.objects.all()) if form.is_bound else AuditEvent.objects.all()
    record(
        "audit.export",
        target={"type": "audit.log", "id": "", "label": "audit log"},
        after={"format": fmt, "filters": form.active() if form.is_bound else {}},
    )
    rows = export.iter_rows(qs)
    stamp = timezone.now().strftime("%Y%m%dT%H%M%SZ")
    if fmt == "csv":
        response = StreamingHttpResponse(export.csv_lines(rows), content_type="text/csv")
    else:
        response = StreamingHttpResponse(
            export.jsonl_lines(rows), content_type="application/x-ndjson"
        )
    response["Content-Disposition"] = f'attachment; filename="audit-{stamp}.{fmt}"'
    response["X-Content-Type-Options"] = "nosniff"
    return response
