"""Verification through the portal against the sandbox Exchange, whose admin API makes reality
differ from the record: verified, broken, over-privileged, EWS off, not allow-listed, unknown."""

import json
import os
import subprocess
import sys
import uuid

import pytest
from django.utils import timezone

from portal.audit.models import AuditEvent
from portal.grants.models import Application, Grant, GrantCheck
from portal.jobs.models import Job
from portal.tenants.sandbox import register_sandbox_tenant
from tests.conftest import ROOT, _database_url


@pytest.fixture
def world(db, sandbox_exchange):
    """A sandbox tenant, an application registered in the sandbox, and an active list grant."""
    info = sandbox_exchange.info
    admin = sandbox_exchange.admin_client()
    tenant = register_sandbox_tenant(info)[0]
    created = admin.create_app(f"verify-{uuid.uuid4().hex[:8]}")
    app = Application.objects.create(
        tenant=tenant, name="Archiver", owner="Records", client_id=created["client_id"],
        credential_secret=created["client_secret"], protocols=["ews"],
    )  # fmt: skip
    first, second = (m["address"] for m in info["mailboxes"][1:3])
    grant = Grant.objects.create(
        application=app, model="rbac", role="Application EWS.AccessAsApp", scope="list",
        mailboxes=[first, second], justification="j", status="active",
        expires_at=timezone.now() + timezone.timedelta(days=30),
    )  # fmt: skip
    admin.set_grant(app.client_id, "list", [first, second])
    yield admin, app, grant, info
    admin.set_grant(app.client_id, "none")
    admin.set_org(ews_enabled=None, ews_allowed_app_ids=[])
    admin.close()


def verify_via_page(client, grant, capture):
    with capture(execute=True):
        response = client.post(f"/grants/{grant.pk}/verify/")
    assert response.status_code == 302
    return GrantCheck.objects.filter(grant=grant).first()


def test_verified_job_keeps_evidence(operator_client, world, eager_celery,
                                     django_capture_on_commit_callbacks):  # fmt: skip
    admin, app, grant, info = world
    check = verify_via_page(operator_client, grant, django_capture_on_commit_callbacks)
    assert check.outcome == "verified", check.evidence
    inside = {e["mailbox"] for e in check.evidence if e["expected"] == "in"}
    outside = {e["mailbox"] for e in check.evidence if e["expected"] == "out"}
    assert inside == set(grant.mailboxes)
    assert info["mailboxes"][0]["address"] in outside  # the tenant's test mailbox
    assert all(not e["reached"] for e in check.evidence if e["expected"] == "out")
    job = Job.objects.get(kind="grants.verify")
    assert job.status == Job.Status.SUCCEEDED and check.job_id == str(job.pk)
    [event] = AuditEvent.objects.filter(action="grant.verify")
    assert event.result == "success" and event.after["outcome"] == "verified"
    grant.refresh_from_db()
    assert grant.last_outcome == "verified"
    page = operator_client.get(f"/grants/{grant.pk}/")
    assert "Inbox read" in page.text and "verified" in page.text
    assert "verified" in operator_client.get("/grants/").text


def test_broken_when_the_grant_is_removed_in_exchange(
    operator_client, world, eager_celery, django_capture_on_commit_callbacks
):
    admin, app, grant, info = world
    admin.set_grant(app.client_id, "none")
    check = verify_via_page(operator_client, grant, django_capture_on_commit_callbacks)
    assert check.outcome == "broken"
    assert "ErrorImpersonateUserDenied" in check.evidence[0]["detail"]
    assert Job.objects.get(kind="grants.verify").status == Job.Status.PROBLEMS
    assert "ErrorImpersonateUserDenied" in operator_client.get(f"/grants/{grant.pk}/").text


def test_over_privileged_when_exchange_allows_more(operator_client, world, eager_celery,
                                                   django_capture_on_commit_callbacks):  # fmt: skip
    admin, app, grant, info = world
    admin.set_grant(app.client_id, "all")
    check = verify_via_page(operator_client, grant, django_capture_on_commit_callbacks)
    assert check.outcome == "over-privileged"
    reached_out = [e["mailbox"] for e in check.evidence if e["expected"] == "out" and e["reached"]]
    assert info["mailboxes"][0]["address"] in reached_out
    assert set(check.resolved) >= {m["address"] for m in info["mailboxes"]}


@pytest.mark.parametrize("org,words", [
    ({"ews_enabled": False}, "EWSEnabled=False"),
    ({"ews_enabled": True, "ews_allowed_app_ids": ["another-app"]}, "EWSAllowedAppIDs"),
])  # fmt: skip
def test_broken_when_ews_is_off_or_app_not_allowed(world, org, words):
    from portal.grants import verification

    admin, app, grant, info = world
    admin.set_org(**org)
    check = verification.verify(grant)
    assert check.outcome == "broken" and words in check.evidence[0]["detail"]
    assert "HTTP 403" in check.detail


def test_unknown_without_credential(world):
    from portal.grants import verification

    admin, app, grant, info = world
    Application.objects.filter(pk=app.pk).update(credential_secret="")
    grant.refresh_from_db()
    check = verification.verify(grant)
    assert check.outcome == "unknown" and check.evidence == []


def test_viewer_cannot_start_verification(viewer_client, world):
    grant = world[2]
    assert viewer_client.post(f"/grants/{grant.pk}/verify/").status_code == 403
    assert not Job.objects.exists()


def cli(*args):
    env = {**os.environ, "DATABASE_URL": _database_url()}
    return subprocess.run([sys.executable, "manage.py", "grants", "verify", *args], cwd=ROOT,
                          env=env, capture_output=True, text=True, timeout=120)  # fmt: skip


@pytest.mark.django_db(transaction=True)
def test_cli_verify_json_and_exit_codes(world):
    admin, app, grant, info = world
    done = cli("--json")
    assert done.returncode == 0, done.stderr
    [line] = [json.loads(x) for x in done.stdout.splitlines()]
    assert set(line) == {"grant", "tenant", "client_id", "model", "scope", "outcome", "in_scope",
                         "out_of_scope", "detail"}  # fmt: skip
    assert (line["grant"], line["tenant"]) == (grant.pk, "Sandbox")
    assert line["client_id"] == app.client_id
    assert (line["model"], line["scope"], line["outcome"]) == ("rbac", "list", "verified")
    assert line["in_scope"] == {"tried": 2, "reached": 2}
    assert set(line["out_of_scope"]) == {"tried", "reached", "reached_examples"}
    assert line["out_of_scope"]["reached"] == 0 and line["out_of_scope"]["tried"] >= 1

    admin.set_grant(app.client_id, "all")
    over = cli("--tenant", "Sandbox", "--grant", str(grant.pk), "--json")
    assert over.returncode == 1
    line = json.loads(over.stdout)
    assert line["outcome"] == "over-privileged"
    assert info["mailboxes"][0]["address"] in line["out_of_scope"]["reached_examples"]

    assert cli("--tenant", "Nowhere").returncode == 2
    assert cli("--grant", "999999").returncode == 2
    assert cli("--grant", "x").returncode == 2


def test_exchange_server_service_account_impersonation(db, sandbox_exchange):
    """ApplicationImpersonation on Exchange Server: the service account with its password."""
    from portal.grants import verification
    from portal.tenants.models import Tenant
    from portal.tenants.sandbox import sandbox_tenant_fields

    info = sandbox_exchange.info
    admin = sandbox_exchange.admin_client()
    svc = f"svc-{uuid.uuid4().hex[:6]}@{info['domain']}"
    admin.create_mailbox(svc, password="Svc-Password-1!")
    fields = sandbox_tenant_fields(info)
    fields.update(kind=Tenant.Kind.SERVER, auth_method=Tenant.Auth.BASIC, client_id="",
                  client_secret="", username=svc, password="Svc-Password-1!")  # fmt: skip
    tenant = Tenant.objects.create(name="On-prem", **fields)
    app = Application.objects.create(
        tenant=tenant, name="Legacy sync", owner="IT", auth="basic", service_account=svc,
        credential_secret="Svc-Password-1!",
    )  # fmt: skip
    target = info["mailboxes"][1]["address"]
    grant = Grant.objects.create(
        application=app, model="impersonation", scope="list", mailboxes=[target],
        justification="j", status="active", expires_at=timezone.now() + timezone.timedelta(days=9),
    )  # fmt: skip
    try:
        admin.set_grant(svc, "list", [target])
        assert verification.verify(grant).outcome == "verified"
        admin.set_grant(svc, "all")
        check = verification.verify(grant)
        assert check.outcome == "over-privileged", check.evidence
        admin.set_grant(svc, "none")
        check = verification.verify(grant)
        assert check.outcome == "broken" and "ErrorImpersonateUserDenied" in check.detail
    finally:
        admin.set_grant(svc, "none")
        admin.close()
