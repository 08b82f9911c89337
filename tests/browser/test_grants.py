"""Grants in the browser: an Operator requests, another Admin approves after reauthentication,
marks it active and verifies it — executed by a real Celery worker against the sandbox Exchange."""

import datetime as dt
import uuid

import pytest
from django.utils import timezone

from portal.grants.models import Application, Grant
from portal.tenants.sandbox import register_sandbox_tenant
from tests.browser.conftest import screenshot, sign_in
from tests.conftest import PASSWORD

pytestmark = pytest.mark.browser


def _clean(page, where):
    assert page.problems.console_errors == [], where
    assert page.problems.csp_violations() == [], where
    assert page.problems.axe_violations() == [], where


def test_request_approve_verify(page, operator_user, admin_user, sandbox_exchange,
                                celery_worker_process):  # fmt: skip
    info = sandbox_exchange.info
    tenant, _ = register_sandbox_tenant(info)
    admin = sandbox_exchange.admin_client()
    created = admin.create_app(f"browser-{uuid.uuid4().hex[:8]}")
    mailbox = info["mailboxes"][1]["address"]
    admin.set_grant(created["client_id"], "list", [mailbox])
    Application.objects.create(
        tenant=tenant, name="Archiver", owner="Records", client_id=created["client_id"],
        credential_secret=created["client_secret"], protocols=["ews"],
    )  # fmt: skip
    try:
        sign_in(page, operator_user.username, PASSWORD)
        page.goto("/grants/")
        _clean(page, "grants list")
        page.get_by_role("link", name="Request a grant").click()
        page.wait_for_url("**/grants/request/")
        page.get_by_label("Application").select_option(label="Sandbox · Archiver")
        page.get_by_label("Permission model").select_option("rbac")
        page.get_by_label("Role or right").fill("Application EWS.AccessAsApp")
        page.get_by_label("Scope").select_option("list")
        page.get_by_label("Mailboxes").fill(mailbox)
        page.get_by_label("Justification").fill("Nightly archive of the records mailbox")
        page.get_by_label("Ticket reference").fill("CHG-1001")
        expires = timezone.localdate() + dt.timedelta(days=30)
        page.get_by_label("Expires on").fill(expires.isoformat())
        _clean(page, "request form")
        page.get_by_role("button", name="Request").click()
        page.wait_for_url("**/grants/*/")
        grant = Grant.objects.get()
        assert grant.status == "requested"
        _clean(page, "requested grant")
        page.get_by_role("button", name="Sign out").click()

        sign_in(page, admin_user.username, PASSWORD)
        page.goto(f"/grants/{grant.pk}/")
        page.get_by_label("Note").fill("Scoped to one mailbox: fine")
        page.get_by_role("button", name="Approve").click()
        if "/reauthenticate/" in page.url:
            page.get_by_label("Password").fill(PASSWORD)
            page.get_by_role("button", name="Confirm").click()
        page.wait_for_url(f"**/grants/{grant.pk}/")
        grant.refresh_from_db()
        assert grant.status == "approved" and grant.decided_by == admin_user
        page.get_by_role("button", name="Mark active").click()
        page.wait_for_url(f"**/grants/{grant.pk}/")
        grant.refresh_from_db()
        assert grant.status == "active"
        page.get_by_role("link", name="Apply").first.click()
        page.wait_for_url("**/script/?action=apply")
        assert "New-ManagementRoleAssignment -App" in page.locator("pre").inner_text()
        _clean(page, "script page")
        page.goto(f"/grants/{grant.pk}/")
        page.get_by_role("button", name="Verify now").click()
        page.wait_for_url("**/jobs/*/")
        page.wait_for_function(
            "() => document.body.innerText.includes('Every grant checked is verified.')",
            timeout=90_000,
        )
        page.goto(f"/grants/{grant.pk}/")
        assert page.locator(".status", has_text="verified").first.is_visible()
        assert page.get_by_text("Inbox read").first.is_visible()
        grant.refresh_from_db()
        assert grant.last_outcome == "verified"
        screenshot(page, "grant-verified")
        _clean(page, "verified grant")
    finally:
        admin.set_grant(created["client_id"], "none")
        admin.close()
