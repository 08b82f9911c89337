"""Forms that follow the person's choices in a real browser: the tenant form shows the fields of
the chosen kind and authentication, "Test a host" those of the chosen test with its usual port,
and a finished run copies itself for a ticket. Each page is checked for CSP violations, console
errors and serious accessibility findings."""

import pytest

from portal.runs.models import Probe, ProbeRun, RunStatus
from tests.browser.conftest import screenshot, sign_in
from tests.conftest import PASSWORD

pytestmark = pytest.mark.browser


def _clean(page, where):
    assert page.problems.console_errors == [], where
    assert page.problems.csp_violations() == [], where
    assert page.problems.axe_violations() == [], where


def _visible(page, field_id) -> bool:
    return page.locator(f"#{field_id}").is_visible()


def test_the_tenant_form_shows_the_fields_of_the_chosen_kind_and_method(page, admin_user):
    sign_in(page, admin_user.username, PASSWORD)
    page.goto("/tenants/new/")
    kind, auth = page.locator("#id_kind"), page.locator("#id_auth_method")
    assert kind.input_value() == "online" and auth.input_value() == "oauth_secret"
    assert _visible(page, "id_cloud") and _visible(page, "id_directory_id")
    assert _visible(page, "id_client_id") and _visible(page, "id_client_secret")
    for hidden in ("id_certificate_pem", "id_username", "id_password"):
        assert not _visible(page, hidden), hidden
    # Exchange Online: only the OAuth methods are offered.
    offered = auth.evaluate("s => [...s.options].filter(o => !o.disabled).map(o => o.value)")
    assert offered == ["oauth_secret", "oauth_cert"]
    _clean(page, "tenant form, Exchange Online")

    auth.select_option("oauth_cert")
    assert _visible(page, "id_certificate_pem") and not _visible(page, "id_client_secret")

    kind.select_option("server")
    assert not _visible(page, "id_cloud") and not _visible(page, "id_directory_id")
    auth.select_option("basic")
    assert _visible(page, "id_username") and _visible(page, "id_password")
    for hidden in ("id_client_id", "id_client_secret", "id_certificate_pem", "id_token_url"):
        assert not _visible(page, hidden), hidden
    screenshot(page, "tenant-form-server-basic")
    _clean(page, "tenant form, Exchange Server with Basic")

    # Back to Exchange Online: Basic cannot be saved there, so an OAuth method is chosen.
    kind.select_option("online")
    assert auth.input_value() == "oauth_secret"
    assert _visible(page, "id_client_secret") and not _visible(page, "id_username")


def test_test_a_host_shows_the_fields_of_the_chosen_test_with_its_usual_port(page, operator_user):
    sign_in(page, operator_user.username, PASSWORD)
    page.goto("/connectivity/adhoc/")
    test, port, security = (page.locator(f"#id_{n}") for n in ("probe", "port", "security"))
    assert (test.input_value(), port.input_value(), security.input_value()) == (
        "smtp", "587", "starttls")  # fmt: skip
    assert _visible(page, "id_mail_from") and _visible(page, "id_ca_file")
    _clean(page, "test a host, SMTP")

    test.select_option("imap")
    assert (port.input_value(), security.input_value()) == ("993", "tls")
    assert not _visible(page, "id_mail_from") and _visible(page, "id_username")
    test.select_option("pop3")
    assert (port.input_value(), security.input_value()) == ("995", "tls")
    test.select_option("tls")
    assert port.input_value() == "443" and not _visible(page, "id_security")
    assert not _visible(page, "id_username") and _visible(page, "id_ca_bundle")
    test.select_option("tcp")
    assert port.input_value() == "" and _visible(page, "id_port")
    assert not _visible(page, "id_ca_bundle")
    port.fill("2525")  # a port typed by the person stays when the test changes
    test.select_option("smtp")
    assert port.input_value() == "2525"
    test.select_option("dns")
    assert not _visible(page, "id_port") and not _visible(page, "id_security")
    assert _visible(page, "id_host")
    screenshot(page, "adhoc-dns")
    _clean(page, "test a host, DNS")


def test_a_finished_run_is_copied_as_text_for_a_ticket(page, live_server, viewer_user):
    run = ProbeRun.objects.create(
        probe=Probe.TCP, target="192.0.2.1:25", params={"host": "192.0.2.1", "port": 25},
        status=RunStatus.FAIL, duration_ms=10_004, steps=[
            {"name": "Resolve host", "status": "pass", "detail": "192.0.2.1", "hint": "", "ms": 1},
            {"name": "TCP connect", "status": "fail", "detail": "no answer within 10 s",
             "hint": "Check the firewall between the portal and the host.", "ms": 10_000},
        ],
    )  # fmt: skip
    page.context.grant_permissions(["clipboard-read", "clipboard-write"], origin=live_server.url)
    sign_in(page, viewer_user.username, PASSWORD)
    page.goto(f"/connectivity/runs/{run.pk}/")
    page.get_by_text("Copy as text for a ticket").click()
    page.locator("#ticket-text").wait_for()  # fetched when opened
    expected = page.locator("#ticket-text").input_value()
    assert "Result: Failed" in expected and "✗ TCP connect (10000 ms)" in expected
    page.get_by_role("button", name="Copy", exact=True).click()
    page.get_by_text("Copied to the clipboard.").wait_for()
    assert page.evaluate("navigator.clipboard.readText()") == expected
    # A viewer may read and download, not start anything.
    assert page.get_by_role("button", name="Run again").count() == 0
    assert page.get_by_role("link", name="Download (JSON)").is_visible()
    screenshot(page, "run-copy-for-ticket")
    _clean(page, "run page with the ticket text")
