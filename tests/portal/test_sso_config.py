"""SSO configuration from the environment: Entra, generic OIDC, SAML (with its metadata)."""

import pytest
import trustme
from django.core.exceptions import ImproperlyConfigured

from portal.accounts.sso_config import parse_role_map, socialaccount_providers

GUID = "72f988bf-86f1-41af-91ab-2d7cd011db47"


def _env(monkeypatch, **values):
    for key, value in values.items():
        monkeypatch.setenv(key, value)


def test_nothing_configured_means_no_providers(monkeypatch):
    monkeypatch.delenv("SSO_OIDC_PROVIDERS", raising=False)
    monkeypatch.delenv("SSO_SAML_PROVIDERS", raising=False)
    assert socialaccount_providers() == {}


def test_entra_uses_the_tenant_specific_issuer_and_tid_oid(monkeypatch):
    _env(
        monkeypatch,
        SSO_OIDC_PROVIDERS="entra",
        SSO_OIDC_ENTRA_TYPE="entra",
        SSO_OIDC_ENTRA_TENANT_ID=GUID,
        SSO_OIDC_ENTRA_CLIENT_ID="cid",
        SSO_OIDC_ENTRA_CLIENT_SECRET="s3cret",
        SSO_OIDC_ENTRA_ROLE_MAP="Portal.Admin=admin",
    )
    app = socialaccount_providers()["openid_connect"]["APPS"][0]
    assert app["settings"]["server_url"] == f"https://login.microsoftonline.com/{GUID}/v2.0"
    policy = app["settings"]["portal"]
    assert policy["uid_claims"] == ["tid", "oid"]
    assert policy["allowed_tenants"] == [GUID]
    assert policy["role_claim"] == "roles"
    assert policy["role_map"] == {"Portal.Admin": "admin"}
    assert app["secret"] == "s3cret"


@pytest.mark.parametrize("tenant", ["common", "organizations", "consumers", ""])
def test_entra_refuses_multi_tenant_endpoints(monkeypatch, tenant):
    _env(
        monkeypatch,
        SSO_OIDC_PROVIDERS="entra",
        SSO_OIDC_ENTRA_TYPE="entra",
        SSO_OIDC_ENTRA_TENANT_ID=tenant,
        SSO_OIDC_ENTRA_CLIENT_ID="cid",
    )
    with pytest.raises(ImproperlyConfigured, match="TENANT_ID"):
        socialaccount_providers()


def test_client_secret_from_a_file(monkeypatch, tmp_path):
    secret = tmp_path / "secret"
    secret.write_text("from-file\n")
    _env(
        monkeypatch,
        SSO_OIDC_PROVIDERS="okta",
        SSO_OIDC_OKTA_ISSUER="https://contoso.okta.com/",
        SSO_OIDC_OKTA_CLIENT_ID="cid",
        SSO_OIDC_OKTA_CLIENT_SECRET_FILE=str(secret),
    )
    app = socialaccount_providers()["openid_connect"]["APPS"][0]
    assert app["secret"] == "from-file"
    assert app["settings"]["server_url"] == "https://contoso.okta.com"
    assert app["settings"]["portal"]["uid_claims"] == ["sub"]


@pytest.mark.parametrize("value", ["Admins", "Admins=root", "=admin"])
def test_bad_role_maps_stop_the_process(value):
    with pytest.raises(ImproperlyConfigured):
        parse_role_map("X", value)


@pytest.fixture
def saml_env(monkeypatch, settings):
    cert = trustme.CA().issue_cert("adfs.contoso.test").cert_chain_pems[0].bytes().decode()
    _env(
        monkeypatch,
        SSO_SAML_PROVIDERS="adfs",
        SSO_SAML_ADFS_NAME="Contoso AD FS",
        SSO_SAML_ADFS_IDP_ENTITY_ID="http://adfs.contoso.test/adfs/services/trust",
        SSO_SAML_ADFS_IDP_SSO_URL="https://adfs.contoso.test/adfs/ls/",
        SSO_SAML_ADFS_IDP_X509CERT=cert,
        SSO_SAML_ADFS_ROLE_MAP="PortalAdmins=admin",
    )
    settings.SOCIALACCOUNT_PROVIDERS = socialaccount_providers()
    return settings.SOCIALACCOUNT_PROVIDERS["saml"]["APPS"][0]


@pytest.mark.django_db
def test_saml_provider_is_configured_and_serves_metadata(saml_env, client, settings):
    settings.ALLOWED_HOSTS = ["portal.contoso.test", "testserver"]
    assert saml_env["client_id"] == "adfs"
    assert saml_env["settings"]["advanced"]["want_assertion_signed"] is True
    response = client.get("/accounts/saml/adfs/metadata/", HTTP_HOST="portal.contoso.test")
    assert response.status_code == 200
    body = response.content.decode()
    assert "EntityDescriptor" in body
    assert "http://portal.contoso.test/accounts/saml/adfs/acs/" in body
    assert b"Contoso AD FS" in client.get("/accounts/login/").content


def test_saml_needs_a_certificate_or_metadata(monkeypatch):
    _env(
        monkeypatch,
        SSO_SAML_PROVIDERS="adfs",
        SSO_SAML_ADFS_IDP_ENTITY_ID="x",
        SSO_SAML_ADFS_IDP_SSO_URL="https://adfs.contoso.test/adfs/ls/",
    )
    monkeypatch.delenv("SSO_SAML_ADFS_IDP_X509CERT", raising=False)
    with pytest.raises(ImproperlyConfigured, match="X509CERT"):
        socialaccount_providers()
