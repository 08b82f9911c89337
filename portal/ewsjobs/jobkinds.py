"""How the jobs app treats EWS jobs: safe to re-drive (chunks and item keys make it exactly
once), what to close when one is cut short, and its outcome in words."""

from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _

from portal.ewsjobs.models import Chunk, EwsJob, Target
from portal.jobs import kinds
from portal.lib.translate import register_stored

KINDS = [f"ews.{k}" for k in EwsJob.Kind.values]


def _requeued(job) -> None:
    # The attempt that died may hold chunks: they become claimable again at once, and their
    # items are looked up in Exchange before anything is created (chunk.attempts > 1).
    Chunk.objects.filter(ewsjob_id=job.pk, status=Chunk.Status.RUNNING).update(
        status=Chunk.Status.PENDING, lease_until=None
    )


def _interrupted(job, reason: str) -> None:
    now = timezone.now()
    Chunk.objects.filter(ewsjob_id=job.pk, status__in=[Chunk.Status.PENDING,
                                                        Chunk.Status.RUNNING]).update(
        status=Chunk.Status.FAILED, error=reason[:500], lease_until=None)  # fmt: skip
    Target.objects.filter(ewsjob_id=job.pk, status__in=[Target.Status.PENDING,
                                                         Target.Status.RUNNING]).update(
        status=Target.Status.FAILED, error=reason[:500], finished_at=now)  # fmt: skip


def _describe(job) -> kinds.Summary:
    link = kinds.Link(label=_("Open the job's results"), url=reverse("ewsjobs:detail",
                                                                     args=[job.pk]))  # fmt: skip
    return kinds.Summary(text=job.message, links=[link])


def register() -> None:
    from portal.ewsjobs import finish

    register_stored(*finish.TEMPLATES, finish.NEXT)
    for name in KINDS:
        kinds.register(kinds.JobKind(name, repeatable=lambda job: True, requeued=_requeued,
                                     interrupted=_interrupted, describe=_describe))  # fmt: skip
