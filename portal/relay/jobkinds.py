"""How the jobs app treats test sends: safe to repeat, and what to close when cut short."""

from django.urls import reverse
from django.utils import timezone

from portal.jobs import kinds
from portal.relay.models import RelayTest

ACTIVE = [RelayTest.Status.QUEUED, RelayTest.Status.RUNNING]


def _tests_of(job):
    return RelayTest.objects.filter(pk=job.kwargs.get("test_id"))


def _reset(job) -> None:
    _tests_of(job).filter(status__in=ACTIVE).update(status=RelayTest.Status.QUEUED, steps=[])


def _close(job, reason: str) -> None:
    _tests_of(job).filter(status__in=ACTIVE).update(
        status=RelayTest.Status.ERROR, error=reason[:500], finished_at=timezone.now()
    )


def _describe(job) -> kinds.Summary:
    links = [
        kinds.Link(
            label=f"{test.client.name} → {test.recipient}",
            url=reverse("relay:test", args=[test.pk]),
            status=test.status,
            status_label=test.get_status_display(),
        )  # fmt: skip
        for test in _tests_of(job).select_related("client")
    ]
    text = links[0].status_label if links else ""
    return kinds.Summary(text=text, links=links)


def register() -> None:
    kinds.register(kinds.JobKind("relay.test", repeatable=lambda job: True, requeued=_reset,
                                 interrupted=_close, describe=_describe))  # fmt: skip
