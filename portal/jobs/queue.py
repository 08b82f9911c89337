"""Sending a job's message to the broker, and saying in words why that failed."""

import errno
import logging
from urllib.parse import urlsplit

from celery import current_app
from django.conf import settings
from django.utils.translation import gettext as _

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


def explain(exc: BaseException) -> str:
    place = _broker_place()
    if settings.CELERY_BROKER_URL.startswith("filesystem"):
        why = getattr(exc, "strerror", None) or _("it cannot be written")
        return _(
            "The job queue is not available: the queue folder %(place)s cannot be written "
            "(%(why)s). Nothing was started. What to do: make sure the portal's account can "
            "write to that folder (VAR_DIR/celery), then start the job again."
        ) % {"place": place, "why": why}
    refused = isinstance(exc, ConnectionRefusedError) or getattr(exc, "errno", None) in (
        errno.ECONNREFUSED,
    )
    if refused or "refused" in str(exc).lower():
        why = _("it refused the connection")
    else:
        why = _("it did not answer")
    return _(
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
