"""A new Admin's first sign-in in Chromium, as a person does it: the one-time link from
`manage.py createadmin`, a password, the authenticator app (with the reason it is required),
the recovery codes, Continue, the dashboard. Then an invitation without a mail server."""

import io
import re
from urllib.parse import urlsplit

import pytest
from django.core.management import call_command

from portal.lib.access import Role
from tests.accounts.helpers import totp_code
from tests.browser.conftest import screenshot, sign_in
from tests.conftest import PASSWORD, make_user

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

NEW_PASSWORD = "Correct-Horse-Battery-Staple-2026"


def _no_problems(page):
    assert page.problems.csp_violations() == [], page.url
    assert page.problems.axe_violations() == [], page.url
    assert page.problems.console_errors == [], page.url


def test_first_sign_in_from_the_one_time_link_to_the_dashboard(page):
    out = io.StringIO()
    call_command("createadmin", "fiona-admin", stdout=out)
    path = re.search(r"https?://[^/]+(/accounts/one-time/\S+/)", out.getvalue())[1]

    page.goto(path)
    _no_problems(page)
    page.get_by_role("button", name="Sign in").click()

    page.wait_for_url("**/accounts/password/set/")
    assert page.get_by_text("Step 1 of 2").is_visible()
    _no_problems(page)
    page.get_by_label(re.compile(r"^Password:?$")).fill(NEW_PASSWORD)
    page.get_by_label("Password (again)").fill(NEW_PASSWORD)
    page.get_by_role("button", name="Set password").click()

    # Straight to enrolment: no second password prompt, no "Change password" form.
    page.wait_for_url("**/accounts/2fa/totp/activate/")
    assert page.get_by_role("heading", name="Add a second factor").is_visible()
    why = page.locator("#why-second-factor")
    assert "Admins must protect their account with a second factor" in why.inner_text()
    _no_problems(page)
    screenshot(page, "first-sign-in-enrol")
    secret = page.locator("#authenticator_secret").input_value()
    page.get_by_label("Authenticator code").fill(totp_code(secret))
    page.get_by_role("button", name="Activate").click()

    page.wait_for_url("**/accounts/2fa/recovery-codes/")
    codes = page.get_by_label("Unused codes").input_value().split()
    assert len(codes) == 10
    _no_problems(page)
    page.get_by_role("link", name="Continue").click()

    page.wait_for_url(lambda url: urlsplit(url).path == "/")
    assert page.get_by_role("heading", name="Dashboard").first.is_visible()
    _no_problems(page)

    page.goto("/accounts/security/")
    factors = page.locator("table.data tbody tr td:first-child").all_inner_texts()
    assert factors == ["Authenticator app", "Recovery codes (10 left)"]
    _no_problems(page)


def test_invitation_without_a_mail_server_shows_the_link_once(page, settings):
    settings.MAILERS = {"default": {"BACKEND": "django.core.mail.backends.console.EmailBackend"}}
    make_user("alice-admin", Role.ADMIN)
    sign_in(page, "alice-admin", PASSWORD)
    page.goto("/accounts/users/invite/")
    assert page.get_by_text("no mail will be sent").is_visible()
    page.get_by_label("Username").fill("nina")
    page.get_by_label("Email").fill("nina@contoso.test")
    page.get_by_role("button", name="Invite").click()

    page.wait_for_url("**/accounts/users/")
    assert page.get_by_text("No invitation mail was sent").is_visible()
    link = page.get_by_label("Invitation link").input_value()
    assert "/accounts/one-time/" in link
    row = page.locator("tr", has=page.get_by_role("cell", name="nina", exact=True))
    assert row.locator("td").last.locator(".status").inner_text() == "invited"
    _no_problems(page)
    screenshot(page, "invitation-link")

    page.reload()
    assert page.get_by_label("Invitation link").count() == 0  # shown once
