"""Sending a job's message to the broker, and saying in words why that failed."""

import errno
import logging
from urllib.parse import urlsplit

from celery import current_app
from django.conf import settings
from django.utils import timezone
from django.utils.translation import gettext_noop

from portal.audit.celery_context import HEADER

log = logging.getLogger(__name__)


class QueueUnavailable(Exception):
    """The job could not be handed to the broker; ``str()`` is a sentence for the person."""


def _broker_place() -> str:
    """Where the broker is, without credentials (never show a password from the URL)."""
    url = settings.CELERY_BROKER_URL
    if url.startswith("filesystem"):
        options = getattr(settings, "CELERY_BROKER_TRANSPORT_OPTIONS", {}) or {}
        return options.get("data_folder_in", "") or "filesystem"
    parts = urlsplit(url)
    host = parts.hostname or "localhost"
    return f"{parts.scheme}://{host}:{parts.port}" if parts.port else f"{parts.scheme}://{host}"


# Why a folder cannot be written, in words the catalogue knows (the OS's own wording otherwise).
_FOLDER_ERRORS = {
    errno.ENOTDIR: gettext_noop("a file stands where the folder should be"),
    errno.ENOENT: gettext_noop("it does not exist"),
    errno.EACCES: gettext_noop("permission denied"),
    errno.EPERM: gettext_noop("permission denied"),
    errno.EROFS: gettext_noop("the file system is read-only"),
    errno.ENOSPC: gettext_noop("the disk is full"),
}


def explain(exc: BaseException) -> str:
    """The reason in English: it is stored on the job row and translated when shown (the
    templates are catalogued in portal.lib.translate.STORED_TEMPLATES)."""
    place = _broker_place()
    if settings.CELERY_BROKER_URL.startswith("filesystem"):
        why = _FOLDER_ERRORS.get(getattr(exc, "errno", None)) or getattr(
            exc, "strerror", None
        ) or gettext_noop("it cannot be written")  # fmt: skip
        return gettext_noop(
            "The job queue is not available: the queue folder %(place)s cannot be written "
            "(%(why)s). Nothing was started. What to do: make sure the portal's account can "
            "write to that folder (VAR_DIR/celery), then start the job again."
        ) % {"place": place, "why": why}
    refused = isinstance(exc, ConnectionRefusedError) or getattr(exc, "errno", None) in (
        errno.ECONNREFUSED,
    )
    if refused or "refused" in str(exc).lower():
        why = gettext_noop("it refused the connection")
    else:
        why = gettext_noop("it did not answer")
    return gettext_noop(
        "The job queue is not available: the message broker at %(place)s cannot be reached "
        "(%(why)s). Nothing was started. What to do: start the broker or correct "
        "CELERY_BROKER_URL (the health check /healthz shows the broker's state), then start "
        "the job again."
    ) % {"place": place, "why": why}


def send(job, kwargs: dict) -> None:
    """Publish the job's message (task id = job id). Raises QueueUnavailable with words."""
    try:
        # Through the registered task (not send_task) so eager mode in tests runs it in-process.
        current_app.tasks[job.task_name].apply_async(
            kwargs=kwargs,
            task_id=str(job.pk),
            headers={HEADER: job.context},
        )
    except Exception as exc:  # noqa: BLE001 - every transport raises its own kinds
        log.warning("could not enqueue job %s: %r", job.pk, exc)
        raise QueueUnavailable(explain(exc)) from exc
    type(job).objects.filter(pk=job.pk).update(sent_at=timezone.now())
