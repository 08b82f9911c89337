"""How the jobs app treats integration checks: read-only, so safe to repeat."""

from django.urls import reverse
from django.utils.translation import gettext as _

from portal.integrations.models import CheckResult, Status
from portal.jobs import kinds


def _describe(job) -> kinds.Summary:
    results = CheckResult.objects.filter(job_id=job.pk).select_related("integration__tenant")
    status_css = {"green": "pass", "amber": "warn", "red": "fail", "retired": "skip"}
    links = [
        kinds.Link(label=f"{r.integration} · {r.get_feature_display()}",
                   url=reverse("integrations:detail", args=[r.integration_id]),
                   status=status_css.get(r.status, ""), status_label=r.get_status_display())
        for r in results.order_by("integration_id", "feature")
    ]  # fmt: skip
    counts: dict = {}
    for r in results:
        counts[r.status] = counts.get(r.status, 0) + 1
    labels = dict(Status.choices)
    text = ", ".join(f"{labels[k]}: {n}" for k, n in sorted(counts.items())) or _("no results")
    return kinds.Summary(text=text, links=links)


def register() -> None:
    kinds.register(kinds.JobKind("integrations.check", repeatable=lambda job: True,
                                 describe=_describe))  # fmt: skip
