"""Integrations in the browser: add one through the form, check it now (a real refused TCP
connection and a retired feature), then read the status matrix and the 30-day timeline with no
console errors, CSP violations or axe findings, at desktop and phone width."""

import re
import socket

import pytest

from portal.integrations.models import FeatureStatus, Integration
from portal.tenants.models import Tenant
from tests.browser.conftest import screenshot, sign_in
from tests.conftest import PASSWORD

pytestmark = pytest.mark.browser


def _clean(page, where):
    assert page.problems.console_errors == [], where
    assert page.problems.csp_violations() == [], where
    assert page.problems.axe_violations() == [], where
    page.set_viewport_size({"width": 390, "height": 800})
    overflow = page.evaluate("document.documentElement.scrollWidth - window.innerWidth")
    page.set_viewport_size({"width": 1366, "height": 900})
    assert overflow <= 0, f"{where}: scrolls sideways at 390 px"


def test_operator_adds_checks_and_reads_matrix_and_timeline(page, operator_user, eager_celery):
    Tenant.objects.create(name="Contoso", kind=Tenant.Kind.ONLINE, cloud="worldwide",
                          accepted_domains=["contoso.com"])  # fmt: skip
    closed = socket.create_server(("127.0.0.1", 0))
    port = closed.getsockname()[1]
    closed.close()  # nothing listens: the pool check fails with a real refusal
    sign_in(page, operator_user.username, PASSWORD)
    page.goto("/integrations/")
    _clean(page, "empty integrations page")
    page.get_by_role("link", name="Add integration").first.click()
    page.wait_for_url("**/integrations/new/")
    page.get_by_label("Tenant").select_option(label="Contoso")
    page.get_by_label("Name").fill("Lync pool")
    page.get_by_label("Product and version").select_option("lync_2013")
    page.get_by_label("IM and presence in Outlook on the web").check()
    page.get_by_label("Voicemail").check()
    page.get_by_label("Skype pool FQDN").fill("pool\u202e.contoso.com")
    page.get_by_role("button", name="Save").click()
    assert page.get_by_text("Please correct the fields marked below").is_visible()
    assert not Integration.objects.exists()
    _clean(page, "integration form with errors")
    page.get_by_label("Skype pool FQDN").fill("127.0.0.1")
    page.get_by_label("Skype pool TLS port").fill(str(port))
    page.get_by_role("button", name="Save").click()
    page.wait_for_url(re.compile(r"/integrations/\d+/$"))
    integration = Integration.objects.get()
    _clean(page, "integration detail before any check")
    page.get_by_role("button", name="Check now").click()
    page.wait_for_url("**/jobs/*/")
    states = dict(FeatureStatus.objects.values_list("feature", "status"))
    assert states == {"im_presence": "red", "voicemail": "retired"}

    page.goto("/integrations/")
    matrix = page.get_by_role("table", name="Integration status for Contoso")
    assert matrix.get_by_text("Not working").is_visible()
    assert matrix.get_by_text("Retired").is_visible()
    assert matrix.get_by_text("TCP connect").is_visible()  # the failing step, named
    screenshot(page, "integrations-matrix")
    _clean(page, "integrations matrix")

    page.goto(f"/integrations/{integration.pk}/")
    svg = page.locator("svg.timeline-svg")
    assert svg.get_attribute("role") == "img"
    assert page.locator("svg.timeline-svg rect.day").count() == 2 * 30
    assert page.locator("svg.timeline-svg rect.day-red").count() == 1
    assert page.locator("svg.timeline-svg rect.day-retired").count() == 1
    assert page.locator("svg.timeline-svg .timeline-axis text").count() >= 5
    assert page.get_by_text("What to do").first.is_visible()
    screenshot(page, "integration-timeline")
    _clean(page, "integration detail with timeline")

    page.goto("/")
    page.locator("article.tile", has_text="features not working").wait_for()
    _clean(page, "dashboard with integration tiles")
