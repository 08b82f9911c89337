"""OpenID Connect sign-in in Chromium against a real provider on another site (loopback).

The portal runs on ``localhost``, oidc-provider-mock on ``127.0.0.1`` (PKCE S256, a ``groups``
claim, signed ID tokens). Chromium applies the portal's CSP, including ``form-action`` to the
redirect that answers the confirmation form; any CSP violation or console error fails the test.
"""

import pytest
from django.contrib.auth import get_user_model

from portal.accounts.sso_config import socialaccount_providers
from portal.audit.models import AuditEvent
from portal.lib.access import Role, user_role
from tests.oidc.browser import assert_clean, wait_for_provider, watch
from tests.oidc.servers import oidc_provider

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

ROLE_MAP = "portal-admins=admin,portal-operators=operator,portal-readers=viewer"


@pytest.fixture(scope="module")
def provider():
    with oidc_provider() as running:
        yield running


@pytest.fixture
def corp(provider, settings, monkeypatch):
    for name, value in {
        "SSO_OIDC_PROVIDERS": "corp", "SSO_OIDC_CORP_ISSUER": provider.url,
        "SSO_OIDC_CORP_NAME": "Contoso SSO", "SSO_OIDC_CORP_CLIENT_ID": "portal-client",
        "SSO_OIDC_CORP_CLIENT_SECRET": "portal-secret", "SSO_OIDC_CORP_ROLE_MAP": ROLE_MAP,
        "SSO_OIDC_CORP_ALLOWED_DOMAINS": "contoso.test",
    }.items():  # fmt: skip
        monkeypatch.setenv(name, value)
    settings.SOCIALACCOUNT_PROVIDERS = socialaccount_providers()
    return provider


@pytest.fixture
def sso_page(page):
    # The provider's own page links a stylesheet on a CDN; this machine is offline. Answer it
    # with an empty stylesheet so a failed third-party load is not mistaken for a portal error.
    page.context.route(
        "https://cdn.jsdelivr.net/**",
        lambda route: route.fulfill(status=200, content_type="text/css", body=""),
    )
    watch(page)
    return page


def sign_in(page, provider, sub: str, *, refused: bool = False) -> None:
    """From the portal's sign-in page through the provider and back."""
    page.goto("/accounts/login/")
    assert_clean(page)
    page.get_by_role("link", name="Contoso SSO").click()
    page.wait_for_url("**/accounts/oidc/corp/login/**")
    assert_clean(page)
    page.get_by_role("button", name="Continue").click()
    # The form's redirect to the provider is what form-action 'self' alone used to block.
    wait_for_provider(page, provider.url)
    page.get_by_label("Subject").fill(sub)
    page.get_by_role("button", name="Authorize", exact=True).click()
    page.wait_for_url(lambda url: not url.startswith(provider.url))
    page.wait_for_load_state()
    assert_clean(page, document_status=403 if refused else 200)


def test_mapped_group_signs_in_as_operator(sso_page, corp):
    corp.set_user("ann", email="ann@contoso.test", groups=["portal-operators", "other-app"])
    sign_in(sso_page, corp, "ann")
    assert sso_page.url.endswith("/")
    assert sso_page.get_by_role("button", name="Sign out").is_visible()
    user = get_user_model().objects.get(email="ann@contoso.test")
    assert user_role(user) == Role.OPERATOR
    assert (
        AuditEvent.objects.filter(action="user.sso_provision", target_id=str(user.pk)).count() == 1
    )
    assert AuditEvent.objects.filter(action="auth.login", actor_username=user.username).exists()


def test_no_mapped_group_gets_no_access_and_is_audited(sso_page, corp):
    corp.set_user("gus", email="gus@contoso.test", groups=["some-other-app"])
    sign_in(sso_page, corp, "gus", refused=True)
    assert "/accounts/oidc/corp/login/callback/" in sso_page.url
    assert sso_page.get_by_role("heading", name="No access").is_visible()
    assert sso_page.get_by_text("You have no role in this portal").is_visible()
    sso_page.goto("/")
    assert "/accounts/login/" in sso_page.url  # no session was created
    event = AuditEvent.objects.get(action="auth.sso_denied")
    assert (event.result, event.after["reason"]) == ("denied", "role")
    assert not get_user_model().objects.exists()


def test_email_domain_outside_the_allowed_list_is_refused_and_audited(sso_page, corp):
    corp.set_user("dan", email="dan@fabrikam.test", groups=["portal-admins"])
    sign_in(sso_page, corp, "dan", refused=True)
    assert sso_page.get_by_text("Your email domain is not allowed").is_visible()
    event = AuditEvent.objects.get(action="auth.sso_denied")
    assert (event.result, event.after["reason"]) == ("denied", "domain")
    assert event.after["email"] == "dan@fabrikam.test"
    assert not get_user_model().objects.exists()


def test_roles_are_mapped_again_and_demoted_on_every_sign_in(sso_page, corp):
    corp.set_user("hal", email="hal@contoso.test", groups=["portal-admins"])
    sign_in(sso_page, corp, "hal")
    user = get_user_model().objects.get(email="hal@contoso.test")
    assert user_role(user) == Role.ADMIN
    sso_page.get_by_role("button", name="Sign out").click()
    sso_page.wait_for_url("**/accounts/login/**")

    corp.set_user("hal", email="hal@contoso.test", groups=["portal-readers"])
    sign_in(sso_page, corp, "hal")
    assert sso_page.get_by_role("button", name="Sign out").is_visible()
    assert user_role(get_user_model().objects.get(pk=user.pk)) == Role.VIEWER
    change = AuditEvent.objects.get(action="user.role_change")
    assert (change.before, change.after) == (
        {"role": "admin"},
        {"role": "viewer", "source": "sso:corp"},
    )
    sso_page.get_by_role("button", name="Sign out").click()
    sso_page.wait_for_url("**/accounts/login/**")

    corp.set_user("hal", email="hal@contoso.test", groups=[])
    sign_in(sso_page, corp, "hal", refused=True)
    assert sso_page.get_by_role("heading", name="No access").is_visible()
    assert user_role(get_user_model().objects.get(pk=user.pk)) == Role.NONE
    denied = AuditEvent.objects.get(action="auth.sso_denied")
    assert denied.after["role_revoked"] is True and denied.result == "denied"
