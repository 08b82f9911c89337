"""Single sign-on end to end against a real OpenID Connect provider on loopback.

Django's test client plays the browser on the portal's side; ``requests`` follows the redirect
to the provider, signs in there and brings the authorization code back. The provider issues
real signed ID tokens; allauth fetches its discovery document, keys and tokens over HTTP.
"""

import uuid
from urllib.parse import urlsplit

import pytest
from allauth.socialaccount.models import SocialAccount
from django.contrib.auth import get_user_model

from portal.accounts.sso_config import socialaccount_providers
from portal.audit.models import AuditEvent
from portal.lib.access import Role, user_role

pytestmark = pytest.mark.django_db

TENANT = str(uuid.uuid4())
OTHER_TENANT = str(uuid.uuid4())
ROLE_MAP = "Portal.Admin=admin,Portal.Operator=operator,Portal.Viewer=viewer"


def configure(settings, monkeypatch, idp, *, kind="oidc", **extra):
    env = {
        "SSO_OIDC_PROVIDERS": "corp",
        "SSO_OIDC_CORP_TYPE": kind,
        "SSO_OIDC_CORP_CLIENT_ID": "portal-client",
        "SSO_OIDC_CORP_CLIENT_SECRET": "portal-secret",
        "SSO_OIDC_CORP_ROLE_MAP": ROLE_MAP,
    }
    if kind == "entra":
        env["SSO_OIDC_CORP_TENANT_ID"] = TENANT
    else:
        env["SSO_OIDC_CORP_ISSUER"] = idp.url
        env["SSO_OIDC_CORP_ROLE_CLAIM"] = "roles"
    env.update({f"SSO_OIDC_CORP_{k}": v for k, v in extra.items()})
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    providers = socialaccount_providers()
    app = providers["openid_connect"]["APPS"][0]
    if kind == "entra":
        # Everything as configured for Entra ID (tid:oid identity, tid allow-list, roles claim,
        # ID-token claims only), except that the issuer is the loopback provider.
        assert app["settings"]["server_url"] == f"https://login.microsoftonline.com/{TENANT}/v2.0"
        app["settings"]["server_url"] = idp.url
        app["settings"]["portal"]["allowed_issuers"] = [idp.url]
    settings.SOCIALACCOUNT_PROVIDERS = providers
    return app


def sign_in(client, idp, sub: str, *, tamper_state=False):
    start = client.post("/accounts/oidc/corp/login/")
    assert start.status_code == 302, start.content
    back = idp.authorize(start["Location"], sub)
    parts = urlsplit(back)
    assert parts.path == "/accounts/oidc/corp/login/callback/"
    query = parts.query
    if tamper_state:
        query = query.replace("state=", "state=x")
    return client.get(f"{parts.path}?{query}")


def entra_user(idp, sub, *, tid=TENANT, roles=("Portal.Operator",), email=None, oid=None):
    oid = oid or str(uuid.uuid4())
    idp.set_user(
        sub,
        tid=tid,
        oid=oid,
        roles=list(roles),
        email=email or f"{sub}@contoso.test",
        preferred_username=email or f"{sub}@contoso.test",
        name="Test Person",
    )
    return oid


def test_sign_in_with_role_mapping_and_tid_oid_identity(client, settings, monkeypatch, idp):
    configure(settings, monkeypatch, idp, kind="entra")
    oid = entra_user(idp, "ann", roles=["Portal.Viewer", "Portal.Operator"])
    response = sign_in(client, idp, "ann")
    assert response.status_code == 302, response.content[:500]
    assert client.get("/").status_code == 200
    account = SocialAccount.objects.get(provider="corp")
    assert account.uid == f"{TENANT}:{oid}"  # tenant + object id, never the email
    user = account.user
    assert user.email == "ann@contoso.test"
    assert user_role(user) == Role.OPERATOR  # the highest mapped role
    assert AuditEvent.objects.filter(action="user.sso_provision", target_id=str(user.pk)).exists()
    assert AuditEvent.objects.filter(action="auth.login", actor_username=user.username).exists()

    # Roles are mapped again on every sign-in.
    client.post("/accounts/logout/")
    entra_user(idp, "ann", roles=["Portal.Admin"], oid=oid)
    assert sign_in(client, idp, "ann").status_code == 302
    user.refresh_from_db()
    assert user_role(get_user_model().objects.get(pk=user.pk)) == Role.ADMIN
    change = AuditEvent.objects.get(action="user.role_change")
    assert change.after == {"role": "admin", "source": "sso:corp"}
    # An SSO Admin is not held at local MFA enrolment: the IdP enforces MFA.
    assert client.get("/").status_code == 200
    assert get_user_model().objects.count() == 1


def test_same_email_from_another_tenant_is_a_different_person_and_refused(
    client, settings, monkeypatch, idp
):
    configure(settings, monkeypatch, idp, kind="entra")
    entra_user(idp, "bob", tid=OTHER_TENANT, email="ann@contoso.test")
    response = sign_in(client, idp, "bob")
    assert response.status_code == 403
    assert b"organization (tenant) is not allowed" in response.content
    assert client.get("/").status_code == 302
    event = AuditEvent.objects.get(action="auth.sso_denied")
    assert event.after["reason"] == "tenant" and event.after["tenant"] == OTHER_TENANT
    assert not get_user_model().objects.exists()


def test_wrong_issuer_is_refused(client, settings, monkeypatch, idp):
    # The tokens come from the provider at localhost; only 127.0.0.1's issuer is allowed.
    configure(settings, monkeypatch, idp, ALLOWED_ISSUERS=idp.url.replace("localhost", "127.0.0.1"))
    idp.set_user("cat", email="cat@contoso.test", roles=["Portal.Admin"])
    response = sign_in(client, idp, "cat")
    assert response.status_code == 403
    assert AuditEvent.objects.get(action="auth.sso_denied").after["reason"] == "issuer"
    assert not get_user_model().objects.exists()
    assert client.get("/").status_code == 302


def test_user_outside_the_allowed_domains_is_refused(client, settings, monkeypatch, idp):
    configure(settings, monkeypatch, idp, ALLOWED_DOMAINS="contoso.test")
    idp.set_user("dan", email="dan@fabrikam.test", roles=["Portal.Admin"])
    response = sign_in(client, idp, "dan")
    assert response.status_code == 403
    assert AuditEvent.objects.get(action="auth.sso_denied").after["reason"] == "domain"
    assert not get_user_model().objects.exists()

    idp.set_user("eve", email="eve@contoso.test", roles=["Portal.Viewer"])
    assert sign_in(client, idp, "eve").status_code == 302
    assert user_role(get_user_model().objects.get(email="eve@contoso.test")) == Role.VIEWER


def test_tampered_state_is_refused(client, settings, monkeypatch, idp):
    configure(settings, monkeypatch, idp)
    idp.set_user("fay", email="fay@contoso.test", roles=["Portal.Admin"])
    response = sign_in(client, idp, "fay", tamper_state=True)
    assert response.status_code in (400, 401, 403)
    assert client.get("/").status_code == 302
    assert not get_user_model().objects.exists()
    assert AuditEvent.objects.filter(action="auth.sso_failed", result="denied").exists()


def test_no_mapped_role_gets_the_no_access_page_and_nothing_else(
    client, settings, monkeypatch, idp
):
    configure(settings, monkeypatch, idp)
    idp.set_user("gus", email="gus@contoso.test", roles=["Some.Other.App"])
    response = sign_in(client, idp, "gus")
    assert response.status_code == 403
    assert b"You have no role in this portal" in response.content
    assert "_auth_user_id" not in client.session
    assert client.get("/").status_code == 302
    assert not get_user_model().objects.exists()
    assert not SocialAccount.objects.exists()
    event = AuditEvent.objects.get(action="auth.sso_denied")
    assert event.result == "denied" and event.after["reason"] == "role"
    assert event.target_label == "gus@contoso.test"


def test_existing_user_losing_every_role_is_refused_and_demoted(client, settings, monkeypatch, idp):
    configure(settings, monkeypatch, idp)
    idp.set_user("hal", email="hal@contoso.test", roles=["Portal.Admin"])
    assert sign_in(client, idp, "hal").status_code == 302
    client.post("/accounts/logout/")
    idp.set_user("hal", email="hal@contoso.test", roles=[])
    assert sign_in(client, idp, "hal").status_code == 403
    user = get_user_model().objects.get(email="hal@contoso.test")
    assert user_role(user) == Role.NONE
    assert AuditEvent.objects.get(action="auth.sso_denied").after["role_revoked"] is True


def test_sign_in_page_offers_the_provider(client, settings, monkeypatch, idp):
    configure(settings, monkeypatch, idp, NAME="Contoso SSO")
    assert b"Contoso SSO" in client.get("/accounts/login/").content
