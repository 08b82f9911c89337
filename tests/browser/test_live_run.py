"""A connectivity run started in the browser, executed by a real Celery worker, steps shown live."""

import pytest

from portal.tenants.sandbox import register_sandbox_tenant
from tests.browser.conftest import screenshot, sign_in
from tests.conftest import PASSWORD

pytestmark = pytest.mark.browser


def test_live_run_streams_steps(page, operator_user, sandbox_exchange, celery_worker_process):
    tenant, _ = register_sandbox_tenant(sandbox_exchange.info)
    admin = sandbox_exchange.admin_client()
    admin.set_knobs(latency_ms=400)  # slow enough to watch the steps arrive one by one
    try:
        sign_in(page, operator_user.username, PASSWORD)
        page.goto(f"/tenants/{tenant.pk}/")
        page.get_by_role("button", name="Run: EWS (service account access)").click()
        page.wait_for_url("**/connectivity/runs/*/")
        live = page.locator("#run-live")
        # While the worker is still running, some steps are already on the page.
        still_running_with_steps = (
            "() => { const el = document.querySelector('#run-live'); return el &&"
            " el.hasAttribute('hx-trigger') && el.querySelectorAll('.step-name').length > 0; }"
        )
        page.wait_for_function(still_running_with_steps, timeout=60_000)
        partial_steps = live.locator(".step-name").count()
        page.wait_for_function(
            "() => !document.querySelector('#run-live').hasAttribute('hx-trigger')", timeout=90_000
        )
        final_steps = page.locator("#run-live .step-name").count()
        assert final_steps > partial_steps >= 1
        assert page.locator("#run-live .run-summary .status").inner_text() in {
            "Passed", "Passed with warnings",
        }  # fmt: skip
        assert page.get_by_text("GetFolder Inbox").is_visible()
        screenshot(page, "live-run")
        assert page.problems.csp_violations() == []
        assert page.problems.axe_violations() == []
        page.goto(f"/connectivity/tenants/{tenant.pk}/history/ews/")
        assert page.locator("svg.timeline-svg rect").count() == 1
        screenshot(page, "history")
    finally:
        admin.set_knobs(latency_ms=0)
