"""How the jobs app treats grant verification: safe to repeat; its outcome per grant, linked."""

from django.urls import reverse

from portal.grants.models import OUTCOME_CLASS, OUTCOME_LABELS, GrantCheck
from portal.jobs import kinds


def _describe(job) -> kinds.Summary:
    checks = GrantCheck.objects.filter(job_id=str(job.pk)).select_related("grant__application")
    links = [
        kinds.Link(
            label=f"{c.grant.application.name} · {c.grant.get_model_display()}",
            url=reverse("grants:detail", args=[c.grant_id]),
            status=OUTCOME_CLASS.get(c.outcome, "skip"),
            status_label=str(OUTCOME_LABELS.get(c.outcome, c.outcome)),
        )
        for c in checks
    ]
    return kinds.Summary(text=job.message, links=links)


def register() -> None:
    # Verifying again only adds another check: a repeat after a lost worker is harmless.
    kinds.register(kinds.JobKind("grants.verify", repeatable=lambda job: True,
                                 describe=_describe))  # fmt: skip
