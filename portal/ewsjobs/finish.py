"""End an EWS job once: cancel, the final status, and the summary in words."""

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext_noop

from portal.audit.api import record
from portal.ewsjobs.models import Chunk, EwsJob, Target
from portal.jobs.models import Job

OPEN = [Chunk.Status.PENDING, Chunk.Status.RUNNING]
# Job messages written here, translated when shown (portal.lib.translate).
TEMPLATES = (
    gettext_noop(
        "Cancelled: %(done)s of %(total)s done before it stopped; nothing more was started."
    ),
    gettext_noop("Items in place: %(done)s of %(total)s (mailboxes: %(boxes)s)."),
    gettext_noop("Messages changed: %(done)s of %(total)s (mailboxes: %(boxes)s)."),
    gettext_noop(
        "Dry run: messages that would change: %(found)s (mailboxes: %(boxes)s); nothing was "
        "changed."
    ),
    gettext_noop("Messages found: %(found)s (mailboxes: %(boxes)s)."),
    gettext_noop("Mailboxes with errors: %(n)s."),
)
NEXT = gettext_noop("Open the job for each one's reason, then use Retry failed mailboxes.")


def cancel_requested(ewsjob_id) -> bool:
    return EwsJob.objects.filter(pk=ewsjob_id, cancel_requested_at__isnull=False).exists()


def cancel_pending(ewsjob_id) -> None:
    """No new chunk starts; the ones running finish and are recorded."""
    Chunk.objects.filter(ewsjob_id=ewsjob_id, status=Chunk.Status.PENDING).update(
        status=Chunk.Status.CANCELLED
    )
    Target.objects.filter(ewsjob_id=ewsjob_id, status=Target.Status.PENDING).update(
        status=Target.Status.CANCELLED, finished_at=timezone.now()
    )


def request_cancel(ewsjob: EwsJob) -> bool:
    """Ask the job to stop. A job no worker has taken yet ends at once. False if it had ended."""
    now = timezone.now()
    with transaction.atomic():
        if not Job.objects.filter(pk=ewsjob.pk, status__in=Job.ACTIVE).exists():
            return False
        EwsJob.objects.filter(pk=ewsjob.pk, cancel_requested_at__isnull=True).update(
            cancel_requested_at=now
        )
        cancel_pending(ewsjob.pk)
    # Not yet claimed: no runner will ever look, so end it here (the task finds it taken).
    if Job.objects.filter(pk=ewsjob.pk, status=Job.Status.QUEUED).update(
        status=Job.Status.RUNNING, started_at=now
    ):
        maybe_finish(ewsjob.pk)
    return True


def outcome(e: EwsJob, targets: dict, found: int) -> tuple[str, str]:
    """(Job status, English summary) from the counts."""
    failed_boxes = targets.get(Target.Status.FAILED, 0) + targets.get(Target.Status.PARTLY, 0)
    n_boxes = sum(targets.values())
    if e.cancel_requested_at:
        return Job.Status.CANCELLED, gettext_noop(
            "Cancelled: %(done)s of %(total)s done before it stopped; nothing more was started."
        ) % {"done": e.done, "total": e.total}
    if e.kind in (EwsJob.Kind.PUBLISH, EwsJob.Kind.TASKS):
        words = gettext_noop("Items in place: %(done)s of %(total)s (mailboxes: %(boxes)s).")
    elif e.kind == EwsJob.Kind.RULES and not e.dry_run:
        words = gettext_noop("Messages changed: %(done)s of %(total)s (mailboxes: %(boxes)s).")
    elif e.dry_run:
        words = gettext_noop("Dry run: messages that would change: %(found)s (mailboxes: "
                             "%(boxes)s); nothing was changed.")  # fmt: skip
    else:
        words = gettext_noop("Messages found: %(found)s (mailboxes: %(boxes)s).")
    summary = words % {"done": e.done, "total": e.total, "boxes": n_boxes, "found": found}
    if not failed_boxes:
        return Job.Status.SUCCEEDED, summary
    extra = " " + gettext_noop("Mailboxes with errors: %(n)s.") % {"n": failed_boxes} + " " + NEXT
    if failed_boxes == n_boxes and not e.done:
        return Job.Status.FAILED, summary + extra
    return Job.Status.PROBLEMS, summary + extra


def maybe_finish(ewsjob_id) -> bool:
    if Chunk.objects.filter(ewsjob_id=ewsjob_id, status__in=OPEN).exists():
        return False
    e = EwsJob.objects.select_related("job", "tenant").get(pk=ewsjob_id)
    if e.job.status != Job.Status.RUNNING:
        return False
    targets: dict = {}
    found = 0
    for status, n_found in e.targets.values_list("status", "found"):
        targets[status] = targets.get(status, 0) + 1
        found += n_found
    status, message = outcome(e, targets, found)
    result = {"outcome": status, "message": message, "done": e.done, "failed": e.failed,
              "total": e.total, "found": found}  # fmt: skip
    now = timezone.now()
    ended = Job.objects.filter(pk=ewsjob_id, status=Job.Status.RUNNING).update(
        status=status, progress=100, finished_at=now, heartbeat_at=None, message=message[:400],
        result=result,
    )  # fmt: skip
    if ended:
        Target.objects.filter(ewsjob_id=ewsjob_id, status__in=[
            Target.Status.PENDING, Target.Status.RUNNING]).update(
            status=Target.Status.CANCELLED, finished_at=now)  # fmt: skip
        # The person's cancel request has its own event (ewsjob.cancel); this is the end.
        record("ewsjob.finish", target=e.job, tenant=e.tenant, after=result,
               result="success" if status == Job.Status.SUCCEEDED else "failure")  # fmt: skip
    return bool(ended)
