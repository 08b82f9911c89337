"""Relay in the browser: create a client, set its credential (shown once), test send live.

The test send runs in a real Celery worker against the sandbox's SMTP submission endpoint.
"""

import pytest

from portal.relay.models import RelayClient, RelayTest
from portal.tenants.sandbox import register_sandbox_tenant
from tests.browser.conftest import screenshot, sign_in
from tests.conftest import PASSWORD

pytestmark = pytest.mark.browser


def _clean(page) -> None:
    assert page.problems.console_errors == [], page.problems.console_errors
    assert page.problems.csp_violations() == []
    assert page.problems.axe_violations() == []


def test_create_credential_shown_once_then_test_send(
    page, admin_user, sandbox_exchange, celery_worker_process
):
    info = sandbox_exchange.info
    sender, recipient = info["mailboxes"][0], info["mailboxes"][1]
    tenant, _ = register_sandbox_tenant(info)
    sign_in(page, admin_user.username, PASSWORD)

    page.goto("/relay/")
    page.get_by_role("link", name="Add relay client").first.click()
    page.locator("#id_tenant").select_option(str(tenant.pk))
    page.locator("#id_name").fill("Scanner 3rd floor")
    page.locator("#id_kind").select_option("printer")
    page.locator("#id_owner").fill("Facilities")
    page.locator("#id_owner_email").fill(sender["address"])
    page.get_by_label("Allowed sender addresses").fill(sender["address"])
    _clean(page)
    page.get_by_role("button", name="Save").click()
    page.wait_for_url("**/relay/*/")
    client = RelayClient.objects.get()
    # The sandbox plays Exchange Online: a Basic SMTP AUTH client is flagged with its date.
    assert page.get_by_text("Basic SMTP AUTH is being turned off").is_visible()
    assert page.get_by_text("From 2026-12-31 Basic authentication").is_visible()
    _clean(page)

    page.get_by_role("link", name="Set credential").click()
    generated = page.get_by_label("New password").input_value()
    assert len(generated) == 24  # a strong password is offered
    page.get_by_label("Mailbox (user name)").fill(sender["address"])
    page.get_by_label("New password").fill(sender["password"])
    _clean(page)
    page.get_by_role("button", name="Save credential").click()
    if "/reauthenticate/" in page.url:
        page.get_by_label("Password").fill(PASSWORD)
        page.get_by_role("button", name="Confirm").click()
    page.wait_for_url(f"**/relay/{client.pk}/")
    shown = page.locator("#shown-once-value")
    assert shown.inner_text() == sender["password"]
    screenshot(page, "relay-credential-shown-once")
    _clean(page)
    page.reload()
    assert page.locator("#shown-once-value").count() == 0
    assert sender["password"] not in page.content()

    page.get_by_label("Send the test message to").fill(recipient["address"])
    page.get_by_role("button", name="Send test message").click()
    page.wait_for_url("**/relay/tests/*/")
    page.wait_for_function(
        "() => !document.querySelector('#relay-test-steps').hasAttribute('hx-trigger')",
        timeout=90_000,
    )
    steps = page.locator("#relay-test-steps")
    assert steps.locator(".status").first.inner_text() == "passed", steps.inner_text()
    assert page.get_by_text("Send test message").first.is_visible()
    screenshot(page, "relay-test-send")
    _clean(page)
    assert RelayTest.objects.get().status == "pass"

    page.goto("/relay/")
    assert page.get_by_text("never").count() == 0  # the last successful test is shown
    _clean(page)
