"""The scheduled verification job, its job page, and key rotation of the verification secret."""

import pytest
from cryptography.fernet import Fernet
from django.core.management import call_command
from django.db import connection

from portal.audit.models import AuditEvent
from portal.grants.models import Application, GrantCheck
from portal.grants.tasks import verify_scheduled
from portal.jobs.models import Job
from portal.lib.crypto import _fernet_for
from tests.grants.conftest import make_grant

pytestmark = pytest.mark.django_db


def test_scheduled_verification_is_one_job_with_links(
    viewer_client, operator_user, application, eager_celery, django_capture_on_commit_callbacks
):
    grant = make_grant(application, operator_user, status="active")
    make_grant(application, operator_user)  # requested: not verified
    with django_capture_on_commit_callbacks(execute=True):
        result = verify_scheduled.delay().get()
    assert result["started"] is True
    job = Job.objects.get(kind="grants.verify")
    # No credential on the application: the outcome is unknown, and the job says so.
    assert job.status == Job.Status.PROBLEMS
    [check] = GrantCheck.objects.all()
    assert (check.grant_id, check.outcome, check.job_id) == (grant.pk, "unknown", str(job.pk))
    page = viewer_client.get(f"/jobs/{job.pk}/")
    assert f"/grants/{grant.pk}/" in page.text and "Archiver" in page.text
    grant_page = viewer_client.get(f"/grants/{grant.pk}/")
    assert "no credential to act as the application" in grant_page.text


def _raw(app) -> str:
    with connection.cursor() as cursor:
        cursor.execute("SELECT credential_secret FROM grants_application WHERE id = %s", [app.pk])
        return cursor.fetchone()[0]


def test_rotate_keys_reencrypts_the_verification_secret(settings, tenant):
    app = Application.objects.create(tenant=tenant, name="A", owner="o", client_id="c",
                                     credential_secret="verify-secret-1")  # fmt: skip
    old_raw = _raw(app)
    new_key = Fernet.generate_key().decode()
    settings.FIELD_ENCRYPTION_KEYS = [new_key, *settings.FIELD_ENCRYPTION_KEYS]
    call_command("rotate_keys")
    new_raw = _raw(app)
    assert new_raw != old_raw
    assert _fernet_for((new_key,)).decrypt(new_raw[5:].encode()) == b"verify-secret-1"
    rotated = AuditEvent.objects.get(action="keys.rotate").after["reencrypted"]
    assert rotated["grants.application"] == 1


@pytest.mark.parametrize("auth", ["app_cert", "delegated"])
def test_applications_the_portal_cannot_act_as_are_unknown(viewer_client, operator_user,
                                                           application, auth):  # fmt: skip
    from portal.grants import verification

    Application.objects.filter(pk=application.pk).update(auth=auth, credential_secret="x")
    application.refresh_from_db()
    grant = make_grant(application, operator_user, status="active")
    check = verification.verify(grant)
    assert check.outcome == "unknown" and check.evidence == []
    assert "Run the check script instead" in viewer_client.get(f"/grants/{grant.pk}/").text
