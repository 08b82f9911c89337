"""MFA in a real browser: TOTP enrolment and sign-in with a code; no CSP violation on MFA pages."""

import pytest

from portal.lib.access import Role
from tests.accounts.helpers import totp_code
from tests.conftest import PASSWORD, make_user

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def _no_problems(page):
    assert page.problems.csp_violations() == [], page.url
    assert page.problems.axe_violations() == [], page.url


def test_admin_enrols_totp_then_signs_in_with_a_code(page, settings):
    settings.MFA_TOTP_TOLERANCE = 1  # the next period's code differs from the one just used
    make_user("nadia-admin", Role.ADMIN, mfa=False)
    page.goto("/accounts/login/")
    page.get_by_label("Login").fill("nadia-admin")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in", exact=True).click()
    # Held at enrolment; adding a factor asks for the password once more.
    page.wait_for_url("**/accounts/reauthenticate/**")
    _no_problems(page)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Confirm").click()
    page.wait_for_url("**/accounts/2fa/totp/activate/")
    _no_problems(page)

    page.goto("/audit/")  # anything else sends the Admin back to enrolment
    page.wait_for_url("**/accounts/2fa/totp/activate/")
    secret = page.locator("#authenticator_secret").input_value()
    page.get_by_label("Authenticator code").fill(totp_code(secret))
    page.get_by_role("button", name="Activate").click()
    page.wait_for_url(lambda url: "/totp/activate/" not in url)
    _no_problems(page)
    page.goto("/accounts/2fa/")
    _no_problems(page)
    page.goto("/accounts/2fa/webauthn/add/")
    _no_problems(page)
    page.goto("/accounts/2fa/recovery-codes/")
    _no_problems(page)
    page.goto("/audit/")
    assert page.url.endswith("/audit/")

    page.get_by_role("button", name="Sign out").click()
    page.goto("/accounts/login/")
    page.get_by_label("Login").fill("nadia-admin")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in", exact=True).click()
    page.wait_for_url("**/accounts/2fa/authenticate/")
    _no_problems(page)
    page.locator("input[name=code]").fill(totp_code(secret, offset=1))
    page.get_by_role("button", name="Sign In").first.click()
    page.wait_for_url(lambda url: "/accounts/2fa/" not in url and "/login/" not in url)
    assert page.get_by_text("nadia-admin").first.is_visible()
    assert page.problems.console_errors == []
