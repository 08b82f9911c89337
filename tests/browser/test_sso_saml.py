"""SAML 2.0 sign-in in Chromium against pysaml2's IdP served on another site (loopback).

The portal (``localhost``) redirects to the IdP (``127.0.0.1``) with an AuthnRequest; the person
signs in there; the IdP's page posts the signed assertion back to the portal's ACS. Any CSP
violation or console error on the way fails the test.
"""

import pytest
from django.contrib.auth import get_user_model

from portal.accounts.sso_config import socialaccount_providers
from portal.audit.models import AuditEvent
from portal.lib.access import Role, user_role
from tests.oidc.browser import assert_clean, wait_for_provider, watch
from tests.oidc.servers import saml_idp

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def idp(live_server, settings, monkeypatch, tmp_path):
    with saml_idp(tmp_path) as running:
        for name, value in {
            "SSO_SAML_PROVIDERS": "corp", "SSO_SAML_CORP_NAME": "Contoso SAML",
            "SSO_SAML_CORP_IDP_ENTITY_ID": running.entity_id,
            "SSO_SAML_CORP_IDP_SSO_URL": running.sso_url,
            "SSO_SAML_CORP_IDP_X509CERT": running.cert.read_text(),
            "SSO_SAML_CORP_ROLE_MAP": "PortalOperators=operator,PortalAdmins=admin",
            "SSO_SAML_CORP_ALLOWED_DOMAINS": "contoso.test",
        }.items():  # fmt: skip
            monkeypatch.setenv(name, value)
        settings.SOCIALACCOUNT_PROVIDERS = socialaccount_providers()
        running.trust_sp(f"{live_server.url}/accounts/saml/corp/metadata/")
        yield running


@pytest.fixture
def sso_page(page):
    watch(page)
    return page


def sign_in(page, idp, username: str, *, refused: bool = False) -> None:
    page.goto("/accounts/login/")
    assert_clean(page)
    page.get_by_role("link", name="Contoso SAML").click()
    page.wait_for_url("**/accounts/saml/corp/login/**")
    assert_clean(page)
    page.get_by_role("button", name="Continue").click()
    wait_for_provider(page, f"{idp.sso_url}?SAMLRequest=")  # HTTP-Redirect binding
    page.get_by_label("IdP username").fill(username)
    page.get_by_role("button", name="Sign in to the IdP").click()
    # The IdP's page posts the assertion to the ACS, which hands over to /acs/finish/.
    page.wait_for_url(lambda url: not url.startswith(idp.url))
    page.wait_for_load_state()
    assert_clean(page, document_status=403 if refused else 200)


def test_saml_sign_in_maps_the_role(sso_page, idp):
    idp.users["olga"] = ("0b7f-oid-1", "olga@contoso.test", ["PortalOperators"])
    sign_in(sso_page, idp, "olga")
    assert sso_page.url.endswith("/")
    assert sso_page.get_by_role("button", name="Sign out").is_visible()
    user = get_user_model().objects.get(email="olga@contoso.test")
    assert user_role(user) == Role.OPERATOR
    assert (
        AuditEvent.objects.filter(action="user.sso_provision", target_id=str(user.pk)).count() == 1
    )
    assert AuditEvent.objects.filter(action="auth.login", actor_username=user.username).exists()


def test_saml_user_without_a_mapped_role_gets_no_access(sso_page, idp):
    idp.users["nora"] = ("0b7f-oid-2", "nora@contoso.test", ["Everyone"])
    sign_in_to_no_access(sso_page, idp, "nora", "You have no role in this portal")
    event = AuditEvent.objects.get(action="auth.sso_denied")
    assert (event.result, event.after["reason"]) == ("denied", "role")
    assert not get_user_model().objects.exists()


def test_saml_user_outside_the_allowed_domains_is_refused(sso_page, idp):
    idp.users["mallory"] = ("0b7f-oid-3", "mallory@evil.test", ["PortalAdmins"])
    sign_in_to_no_access(sso_page, idp, "mallory", "Your email domain is not allowed")
    event = AuditEvent.objects.get(action="auth.sso_denied")
    assert (event.result, event.after["reason"]) == ("denied", "domain")
    assert not get_user_model().objects.exists()


def sign_in_to_no_access(page, idp, username: str, reason: str) -> None:
    sign_in(page, idp, username, refused=True)
    assert page.get_by_role("heading", name="No access").is_visible()
    assert page.get_by_text(reason).is_visible()
    page.goto("/")
    assert "/accounts/login/" in page.url  # no session was created
