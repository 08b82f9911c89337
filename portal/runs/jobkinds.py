"""How the jobs app treats connectivity runs: safe to repeat, and what to close when cut short."""

from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_noop, ngettext

from portal.jobs import kinds
from portal.jobs.api import WITHHELD
from portal.lib.translate import register_stored
from portal.runs.models import ProbeRun, RunStatus

ACTIVE = [RunStatus.QUEUED, RunStatus.RUNNING]
# The label of the job that runs one minute's due schedules (stored in English).
SCHEDULED_LABEL = gettext_noop("Scheduled tests (%(count)s)")


def _runs_of(job):
    if job.kind == "connectivity.run":
        return ProbeRun.objects.filter(pk=job.kwargs.get("run_id"))
    return ProbeRun.objects.filter(job_id=job.pk)


def _one_run_repeatable(job) -> bool:
    # A password typed into "Test a host" is used once and never kept: such a run cannot be
    # sent again without asking for it.
    return job.kwargs.get("sealed_password") != WITHHELD


def _reset(job) -> None:
    _runs_of(job).filter(status__in=ACTIVE).update(
        status=RunStatus.QUEUED, steps=[], error="", started_at=None
    )


def _close(job, reason: str) -> None:
    _runs_of(job).filter(status__in=ACTIVE).update(
        status=RunStatus.ERROR, error=reason[:500], finished_at=timezone.now()
    )


def outcome_of(statuses) -> str:
    statuses = set(statuses)
    if statuses & {RunStatus.FAIL, RunStatus.ERROR}:
        return "problems"
    return "warn" if RunStatus.WARN in statuses else "ok"


def counts_in_words(counts: dict) -> str:
    words = {
        RunStatus.PASS: lambda n: ngettext("%(n)s passed", "%(n)s passed", n),
        RunStatus.WARN: lambda n: ngettext("%(n)s passed with warnings",
                                           "%(n)s passed with warnings", n),
        RunStatus.FAIL: lambda n: ngettext("%(n)s failed", "%(n)s failed", n),
        RunStatus.ERROR: lambda n: ngettext("%(n)s could not run", "%(n)s could not run", n),
        RunStatus.RUNNING: lambda n: ngettext("%(n)s running", "%(n)s running", n),
        RunStatus.QUEUED: lambda n: ngettext("%(n)s waiting", "%(n)s waiting", n),
    }  # fmt: skip
    parts = [words[s](counts[s]) % {"n": counts[s]} for s in words if counts.get(s)]
    return ", ".join(parts) or _("no tests")


def _describe(job) -> kinds.Summary:
    runs = list(_runs_of(job).select_related("tenant").order_by("tenant__name", "id"))
    counts: dict = {}
    for run in runs:
        counts[run.status] = counts.get(run.status, 0) + 1
    links = [
        kinds.Link(
            label=f"{run.tenant or run.params.get('host', '')} · {run.get_probe_display()}",
            url=reverse("connectivity:run", args=[run.pk]),
            status=run.status,
            status_label=run.get_status_display(),
        )
        for run in runs
    ]
    return kinds.Summary(text=counts_in_words(counts), links=links)


def register() -> None:
    kinds.register(kinds.JobKind(
        "connectivity.run", repeatable=_one_run_repeatable, requeued=_reset,
        interrupted=_close, describe=_describe,
    ))  # fmt: skip
    # "Test everything" and each minute's scheduled runs resume: finished runs are kept, the
    # rest run again (see portal.runs.batch).
    for name in ("connectivity.everything", "connectivity.scheduled"):
        kinds.register(kinds.JobKind(
            name, repeatable=lambda job: True, requeued=_reset, interrupted=_close,
            describe=_describe,
        ))  # fmt: skip
    register_stored(SCHEDULED_LABEL)
