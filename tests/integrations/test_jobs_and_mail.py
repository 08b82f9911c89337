"""Checks run as jobs (eagerly here; the worker path is the jobs app's own test), the history
and current status they leave, the audit events, and exactly one email per status change."""

import pytest
from django.core import mail
from probe_certs import DAY, NOW
from probe_servers import tls_server

from portal.audit.models import AuditEvent
from portal.integrations import service
from portal.integrations.models import CheckResult, FeatureStatus
from portal.integrations.tasks import check_scheduled
from portal.jobs.models import Job
from portal.tenants.models import Tenant

from .conftest import make_integration

pytestmark = pytest.mark.django_db


def test_check_now_runs_a_job_that_records_results_and_audit(
    operator_client, lab_tenant, pki, eager_celery, django_capture_on_commit_callbacks
):
    with tls_server(pki.context("localhost")) as port:
        integration = make_integration(lab_tenant, pool_fqdn="localhost", pool_port=port,
                                       features=["im_presence", "voicemail"])  # fmt: skip
        with django_capture_on_commit_callbacks(execute=True):
            response = operator_client.post(f"/integrations/{integration.pk}/check/")
    job = Job.objects.get(kind="integrations.check")
    assert response.status_code == 302 and response.url == f"/jobs/{job.pk}/"
    job.refresh_from_db()
    assert job.status == Job.Status.SUCCEEDED, job.message
    states = dict(FeatureStatus.objects.values_list("feature", "status"))
    assert states == {"im_presence": "green", "voicemail": "retired"}
    assert CheckResult.objects.filter(job=job).count() == 2
    event = AuditEvent.objects.get(action="integration.check")
    assert event.result == "success" and event.after == states
    page = operator_client.get(f"/jobs/{job.pk}/").content.decode()
    assert "Lab · Skype pool" in page and "Working: 1" in page
    russian = operator_client.get(f"/jobs/{job.pk}/", HTTP_ACCEPT_LANGUAGE="ru")
    text = russian.content.decode()
    assert "Проверка интеграции" in text and "Integration check" not in text


def test_a_status_change_sends_exactly_one_email(lab_tenant, pki, settings):
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    integration = make_integration(lab_tenant, pool_fqdn="localhost", features=["im_presence"],
                                   notify_emails=["uc@contoso.test"])  # fmt: skip

    def check_against(ctx):
        with tls_server(ctx) as port:
            integration.pool_port = port
            integration.save()
            return service.run_checks(integration)[0]

    assert check_against(pki.context("localhost")).status == "green"
    assert mail.outbox == []  # the first result is not a change
    expired = pki.context("localhost", not_before=NOW - 90 * DAY, not_after=NOW - 2 * DAY)
    assert check_against(expired).status == "red"
    assert check_against(expired).status == "red"  # still red: no second email
    assert len(mail.outbox) == 1
    message = mail.outbox[0]
    assert message.to == ["uc@contoso.test"]
    assert "Working → Not working" in message.subject
    assert "Certificate validity" in message.body and f"/integrations/{integration.pk}/" in (
        message.body
    )
    assert AuditEvent.objects.filter(action="integration.notify", result="success").count() == 1
    assert check_against(pki.context("localhost")).status == "green"
    assert len(mail.outbox) == 2 and "Not working → Working" in mail.outbox[1].subject
    state = FeatureStatus.objects.get()
    assert state.status == "green" and state.since == state.checked_at


def test_scheduled_checks_start_one_job_for_every_integration(
    lab_tenant, eager_celery, django_capture_on_commit_callbacks
):
    make_integration(lab_tenant, features=["voicemail"])
    make_integration(lab_tenant, name="Second", features=["voicemail"])
    with django_capture_on_commit_callbacks(execute=True):
        assert check_scheduled() == {"started": 2}
    job = Job.objects.get(kind="integrations.check")
    job.refresh_from_db()
    assert job.status == Job.Status.SUCCEEDED
    assert FeatureStatus.objects.filter(status="retired").count() == 2


def test_an_unavailable_queue_is_shown_in_words(transactional_db, operator_client, pki):
    from tests.jobs.helpers import unwritable_filesystem_broker

    tenant = Tenant.objects.create(name="Queue lab", kind=Tenant.Kind.SERVER,
                                   ca_bundle=pki.ca_pem)  # fmt: skip
    integration = make_integration(tenant, features=["voicemail"])
    with unwritable_filesystem_broker():
        response = operator_client.post(f"/integrations/{integration.pk}/check/", follow=True)
    assert response.status_code == 200
    assert "The job queue is not available" in response.content.decode()
    job = Job.objects.get(kind="integrations.check")
    assert job.status == Job.Status.FAILED and "cannot be written" in job.message
    assert not FeatureStatus.objects.exists()
