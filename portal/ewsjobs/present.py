"""An EWS job as a person reads it: refusals, parameters, progress, rate and time left in words.

Jobs store their parameters as the engine's JSON and their refusals as English templates; the
pages never show either raw. Everything here is computed from the rows the page has already
fetched (no queries).
"""

import datetime as dt

from django.utils import timezone
from django.utils.dateparse import parse_datetime
from django.utils.formats import number_format  # 1.5 in English, 1,5 in Russian
from django.utils.translation import gettext, ngettext, pgettext_lazy
from django.utils.translation import gettext_lazy as _

from connectivity.i18n import Msg
from portal.ewsjobs.models import EwsJob
from portal.lib import translate

ACTIONS = {
    "categorize": _("Add the category “%(category)s”"),
    "flag": _("Flag for follow-up"),
    "move": _("Move to the folder “%(folder)s”"),
    "forward": _("Forward to %(forward_to)s"),
    "delete": _("Move to Deleted Items"),
}
# What the counts of a job count.
UNITS = {
    EwsJob.Kind.PUBLISH: pgettext_lazy("counted in", "calendar events"),
    EwsJob.Kind.TASKS: pgettext_lazy("counted in", "tasks"),
    EwsJob.Kind.RULES: pgettext_lazy("counted in", "messages"),
}
MAILBOXES = pgettext_lazy("counted in", "mailboxes")
IMPORTANCE = ("Low", "Normal", "High")
PREVIEW = 10  # items of a batch listed on the page


def _value(value):
    if isinstance(value, Msg):  # an engine sentence: its template and arguments translated
        return translate.message(value.to_json())
    return translate.stored(value) if isinstance(value, str) else value


def refusal(exc) -> str:
    """A Refused in the reader's language: the template translated, the values filled in."""
    words = gettext(exc.words)
    values = {k: _value(v) for k, v in exc.values.items()}
    if not values:
        return words
    try:
        return words % values
    except (KeyError, ValueError, TypeError):  # a broken translation: the English sentence
        return exc.words % values


def unit(ewsjob: EwsJob) -> str:
    if ewsjob.counts_items:
        return str(UNITS[ewsjob.kind])
    return str(MAILBOXES)


def _when(value) -> str:
    """An ISO date/time from the parameters, as the page shows times ("2026-12-01 09:30")."""
    if not value:
        return ""
    parsed = parse_datetime(str(value)) if "T" in str(value) or " " in str(value) else None
    if parsed is None:
        return str(value)[:10]
    return parsed.strftime("%Y-%m-%d %H:%M")


def criteria_words(criteria: dict) -> list[tuple[str, str]]:
    """(label, value) for the folder and each criterion that narrows the search."""
    rows = [(gettext("Folder"), str(criteria.get("folder") or "inbox"))]
    for key, label in (("subject", _("Subject contains")), ("body", _("Body contains")),
                       ("sender", pgettext_lazy("message sender", "From"))):  # fmt: skip
        if criteria.get(key):
            rows.append((str(label), str(criteria[key])))
    start, end = criteria.get("received_from"), criteria.get("received_to")
    if start or end:
        rows.append((gettext("Received"), f"{_when(start) or '…'} – {_when(end) or '…'}"))
    if criteria.get("has_attachments") is True:
        rows.append((gettext("Attachments"), gettext("only messages with attachments")))
    elif criteria.get("has_attachments") is False:
        rows.append((gettext("Attachments"), gettext("only messages without attachments")))
    if len(rows) == 1:
        rows.append((gettext("Messages"), gettext("every message in the folder")))
    return rows


def action_words(action: dict) -> str:
    template = ACTIONS.get(action.get("kind"))
    if template is None:
        return str(action.get("kind") or "")
    values = {k: action.get(k) or "" for k in ("category", "folder", "forward_to")}
    return str(template) % values


def _item_row(item: dict, kind: str) -> dict:
    if kind == EwsJob.Kind.PUBLISH:
        when = f"{_when(item.get('start'))} – {_when(item.get('end'))}"
        if item.get("all_day"):
            when = f"{_when(item.get('start'))[:10]} ({gettext('all day')})"
        return {"subject": item.get("subject", ""), "when": when,
                "where": item.get("location", "")}  # fmt: skip
    due = item.get("due") or ""
    importance = item.get("importance", "")  # Low, Normal or High: the form's own words
    return {"subject": item.get("subject", ""), "when": str(due),
            "where": gettext(importance) if importance in IMPORTANCE else importance}  # fmt: skip


def per_mailbox(kind: str, n: int) -> str:
    """ "1 calendar event", "5 tasks": the count agrees with its noun (in Russian, three forms)."""
    if kind == EwsJob.Kind.PUBLISH:
        words = ngettext("%(n)s calendar event", "%(n)s calendar events", n)
    else:
        words = ngettext("%(n)s task", "%(n)s tasks", n)
    return words % {"n": n}


def params_words(ewsjob: EwsJob) -> dict:
    """The job's parameters for the page: fact rows, and for batches a preview of the items."""
    params = ewsjob.params or {}
    facts, items, more = [], [], 0
    if ewsjob.kind in (EwsJob.Kind.SEARCH, EwsJob.Kind.RULES):
        facts = criteria_words(params.get("criteria") or {})
        if ewsjob.kind == EwsJob.Kind.RULES:
            facts.append((gettext("Action"), action_words(params.get("action") or {})))
    else:
        batch = params.get("events") or params.get("tasks") or []
        facts.append((gettext("Per mailbox"), per_mailbox(ewsjob.kind, len(batch))))
        items = [_item_row(i, ewsjob.kind) for i in batch[:PREVIEW] if isinstance(i, dict)]
        more = max(0, len(batch) - PREVIEW)
    return {"facts": facts, "items": items, "more": more}


def duration(seconds: float) -> str:
    seconds = max(0, int(round(seconds)))
    hours, rest = divmod(seconds, 3600)
    minutes, secs = divmod(rest, 60)
    if hours:
        return gettext("%(h)s h %(m)s min") % {"h": hours, "m": minutes}
    if minutes:
        return gettext("%(m)s min %(s)s s") % {"m": minutes, "s": secs}
    return gettext("%(s)s s") % {"s": secs}


def progress(ewsjob: EwsJob, now: dt.datetime | None = None) -> dict:
    """Done, failed, total, percent, rate (per second) and time left, from the job's counts."""
    job = ewsjob.job
    now = now or timezone.now()
    handled = ewsjob.done + ewsjob.failed
    total = ewsjob.total
    percent = 100 if job.is_done else job.progress
    if total and not job.is_done:
        percent = min(99, handled * 100 // total)
    elif total and job.status == job.Status.CANCELLED:
        # What was left was never tried: a full bar would say the work was done.
        percent = min(100, handled * 100 // total)
    rate = eta = None
    if job.started_at and handled:
        elapsed = ((job.finished_at or now) - job.started_at).total_seconds()
        if elapsed > 0:
            rate = handled / elapsed
            left = max(0, total - handled)
            if left and not job.is_done:
                eta = duration(left / rate)
    return {"done": ewsjob.done, "failed": ewsjob.failed, "total": total, "percent": percent,
            "rate": number_format(rate, 1) if rate is not None else "", "eta": eta or "",
            "unit": unit(ewsjob), "planned": bool(total)}  # fmt: skip
