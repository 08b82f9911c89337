"""A cancelled job's bar shows how much was done, not a full bar; once a cancel is requested
the page says so and stops offering the Cancel button."""

import pytest
from django.utils import timezone

from portal.ewsjobs.models import EwsJob
from portal.jobs.models import Job
from tests.ewsjobs.pages import grant, make_job  # noqa: F401

pytestmark = pytest.mark.django_db
EVENT = {"subject": "Townhall", "start": "2026-12-01T09:00:00+00:00",
         "end": "2026-12-01T10:00:00+00:00"}  # fmt: skip


def test_a_cancelled_job_shows_the_share_it_did(viewer_client, grant):  # noqa: F811
    ewsjob = make_job(grant, kind="publish", status=Job.Status.CANCELLED, done=100, total=600,
                      params={"events": [EVENT] * 200})  # fmt: skip
    body = viewer_client.get(f"/ews-jobs/{ewsjob.pk}/", HTTP_HX_REQUEST="true").content.decode()
    assert 'value="16"' in body and "100 of 600 calendar events" in body
    assert 'value="100"' not in body


def test_after_a_cancel_request_the_button_is_gone(operator_client, grant):  # noqa: F811
    ewsjob = make_job(grant, kind="publish", status=Job.Status.RUNNING, done=5, total=600,
                      params={"events": [EVENT] * 200})  # fmt: skip
    url = f"/ews-jobs/{ewsjob.pk}/"
    assert "Cancel the job" in operator_client.get(url).content.decode()
    EwsJob.objects.filter(pk=ewsjob.pk).update(cancel_requested_at=timezone.now())
    body = operator_client.get(url).content.decode()
    assert "stopping: cancel requested" in body and "Cancel the job" not in body
