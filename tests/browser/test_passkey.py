"""A passkey (WebAuthn) added and then used to sign in, with Chromium's virtual authenticator."""

import pytest
from allauth.mfa.models import Authenticator

from tests.browser.conftest import sign_in
from tests.conftest import PASSWORD

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def _virtual_authenticator(page):
    cdp = page.context.new_cdp_session(page)
    cdp.send("WebAuthn.enable")
    cdp.send(
        "WebAuthn.addVirtualAuthenticator",
        {"options": {"protocol": "ctap2", "transport": "internal", "hasResidentKey": True,
                     "hasUserVerification": True, "isUserVerified": True,
                     "automaticPresenceSimulation": True}},
    )  # fmt: skip
    return cdp


def test_admin_adds_a_passkey_and_signs_in_with_it(page, admin_user, settings):
    settings.MFA_WEBAUTHN_ALLOW_INSECURE_ORIGIN = True  # the live server is http://localhost
    _virtual_authenticator(page)
    sign_in(page, admin_user.username, PASSWORD)
    page.goto("/accounts/2fa/webauthn/add/")
    if "/reauthenticate/" in page.url:
        page.get_by_label("Password").fill(PASSWORD)
        page.get_by_role("button", name="Confirm").click()
        page.wait_for_url("**/accounts/2fa/webauthn/add/")
    page.get_by_label("Name").fill("Virtual key")
    page.get_by_label("Passwordless").check()
    page.get_by_role("button", name="Add").click()
    page.wait_for_url(lambda url: "/webauthn/add/" not in url, timeout=20_000)
    key = Authenticator.objects.get(user=admin_user, type=Authenticator.Type.WEBAUTHN)
    assert key.data["name"] == "Virtual key"
    assert page.problems.csp_violations() == []

    page.get_by_role("button", name="Sign out").click()
    page.goto("/accounts/login/")
    page.get_by_role("button", name="Sign in with a passkey").click()
    page.wait_for_url(lambda url: "/accounts/login/" not in url, timeout=20_000)
    assert page.get_by_role("heading", name="Dashboard").is_visible()
    assert page.problems.csp_violations() == []
    assert page.problems.console_errors == []
