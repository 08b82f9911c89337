"""The UI shell in a real browser: sign-in, navigation, CSP, accessibility, keyboard, language."""

import pytest

from tests.browser.conftest import screenshot, sign_in
from tests.conftest import PASSWORD

pytestmark = pytest.mark.browser

NAV = ["Dashboard", "Tenants", "Connectivity", "Grants", "Relay", "Integrations", "EWS jobs",
       "Jobs", "Audit"]  # fmt: skip


def _assert_clean(page, where):
    problems = page.problems
    assert problems.csp_violations() == [], f"CSP violations on {where}"
    assert [e for e in problems.console_errors if "favicon" not in e] == [], where
    assert problems.axe_violations() == [], f"accessibility violations on {where}"


def test_sign_in_page_is_clean(page):
    page.goto("/")
    assert "/accounts/login/" in page.url
    assert page.get_by_role("heading", name="Sign in").is_visible()
    screenshot(page, "sign-in")
    _assert_clean(page, "sign-in")


def test_every_area_through_the_navigation(page, admin_user):
    sign_in(page, admin_user.username, PASSWORD)
    nav = page.get_by_role("navigation", name="Main")
    for label in NAV:
        nav.get_by_role("link", name=label, exact=True).click()
        page.wait_for_load_state("load")
        link = nav.get_by_role("link", name=label, exact=True)
        assert link.get_attribute("aria-current") == "page", label
        assert page.get_by_role("main").is_visible()
        assert page.locator("h1").count() == 1, label
        _assert_clean(page, label)
        if label == "Dashboard":
            screenshot(page, "dashboard")


def test_wrong_password_is_refused(page, viewer_user):
    page.goto("/accounts/login/")
    page.get_by_label("Login").fill(viewer_user.username)
    page.get_by_label("Password").fill("not-the-password")
    page.get_by_role("button", name="Sign in", exact=True).click()
    assert "/accounts/login/" in page.url
    assert page.get_by_text("not correct").is_visible()
    _assert_clean(page, "failed sign-in")


def test_keyboard_only_navigation(page, viewer_user):
    sign_in(page, viewer_user.username, PASSWORD)
    page.keyboard.press("Tab")
    focused = page.evaluate("document.activeElement.textContent.trim()")
    assert focused == "Skip to content"
    page.keyboard.press("Enter")
    assert page.evaluate("document.activeElement.id") == "main"
    # Reach the Jobs link with Tab alone and follow it with Enter.
    page.goto("/")
    for _ in range(30):
        page.keyboard.press("Tab")
        if page.evaluate("document.activeElement.textContent.trim()").endswith("Jobs"):
            break
    page.keyboard.press("Enter")
    page.wait_for_url("**/jobs/")
    assert page.get_by_role("heading", name="Jobs", exact=True).is_visible()


def test_language_switcher_changes_to_russian(page, viewer_user):
    sign_in(page, viewer_user.username, PASSWORD)
    with page.expect_navigation():
        page.get_by_label("Language").select_option("ru")
    assert page.get_by_role("heading", name="Панель мониторинга").is_visible()
    assert page.locator("html").get_attribute("lang") == "ru"
    _assert_clean(page, "dashboard (ru)")
    screenshot(page, "dashboard-ru")


def test_verify_chain_job_page_polls_with_htmx(page, admin_user):
    sign_in(page, admin_user.username, PASSWORD)
    page.goto("/audit/")
    page.get_by_role("button", name="Verify now").click()
    page.wait_for_url("**/jobs/*/")
    assert page.locator("#job-status").get_attribute("hx-trigger") == "every 1s"
    assert page.get_by_text("Chain verification started.").is_visible()
    _assert_clean(page, "job detail")
