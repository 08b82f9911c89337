"""Adding a tenant in the browser: validation, reauthentication, the detail page, its tests."""

import pytest

from portal.tenants.models import Tenant
from tests.browser.conftest import screenshot, sign_in
from tests.conftest import PASSWORD

pytestmark = pytest.mark.browser


def _clean(page, where):
    assert page.problems.csp_violations() == [], where
    assert page.problems.axe_violations() == [], where


def test_admin_adds_a_tenant(page, admin_user):
    sign_in(page, admin_user.username, PASSWORD)
    page.goto("/tenants/")
    page.get_by_role("link", name="Add tenant").first.click()
    page.wait_for_url("**/tenants/new/")
    _clean(page, "tenant form")
    page.get_by_label("Display name").fill("Contoso")
    page.get_by_label("Tenant id").fill("contoso.onmicrosoft.com")
    page.get_by_label("Accepted domains").fill("contoso.com")
    page.get_by_label("Application (client) id").fill("11111111-2222-3333-4444-555555555555")
    page.get_by_label("SMTP host").fill("smtp.contoso.com\r\nRCPT TO:<x@y.z>")
    page.get_by_role("button", name="Save").click()
    # Sensitive change: confirm the password first, then the form is checked.
    if "/reauthenticate/" in page.url:
        page.get_by_label("Password").fill(PASSWORD)
        page.get_by_role("button", name="Confirm").click()
        page.wait_for_load_state("load")
    assert page.get_by_text("Please correct the fields marked below").is_visible()
    assert not Tenant.objects.exists()
    screenshot(page, "tenant-form-errors")
    _clean(page, "tenant form with errors")
    page.get_by_label("SMTP host").fill("")
    page.get_by_label("Client secret").fill("s3cret-value")
    page.get_by_role("button", name="Save").click()
    page.wait_for_url("**/tenants/*/")
    tenant = Tenant.objects.get()
    assert tenant.client_secret == "s3cret-value"
    page.locator("#tenant-tests").wait_for()  # the tests panel arrives through htmx
    assert page.get_by_role("button", name="Run: EWS (service account access)").is_visible()
    assert "s3cret-value" not in page.content()
    screenshot(page, "tenant-detail")
    _clean(page, "tenant detail")
