"""SAML 2.0 sign-in end to end: pysaml2 (a SAML implementation from PyPI) plays the IdP.

The portal's SP (allauth's saml provider over python3-saml) issues a real AuthnRequest; pysaml2's
IdP parses it and answers with a signed assertion carrying the role attribute; the test client
posts that to the portal's ACS exactly as a browser would.
"""

import base64
from urllib.parse import parse_qs, urlsplit

import pytest
import trustme
from django.contrib.auth import get_user_model

from portal.accounts.sso_config import socialaccount_providers
from portal.audit.models import AuditEvent
from portal.lib.access import Role, user_role

pytestmark = pytest.mark.django_db

HOST = "portal.contoso.test"
IDP = "https://idp.contoso.test/saml"
ROLE = "http://schemas.microsoft.com/ws/2008/06/identity/claims/role"
OID = "http://schemas.microsoft.com/identity/claims/objectidentifier"
MAIL = "http://schemas.xmlsoap.org/ws/2005/05/identity/claims/emailaddress"
NAME = "http://schemas.xmlsoap.org/ws/2005/05/identity/claims/name"


@pytest.fixture
def idp_keys(tmp_path):
    leaf = trustme.CA(key_type=trustme.KeyType.RSA).issue_cert(
        "idp.contoso.test", key_type=trustme.KeyType.RSA
    )
    key, cert = tmp_path / "idp.key", tmp_path / "idp.pem"
    leaf.private_key_pem.write_to_path(str(key))
    leaf.cert_chain_pems[0].write_to_path(str(cert))
    return key, cert


@pytest.fixture
def saml(monkeypatch, settings, idp_keys, tmp_path):
    from saml2 import BINDING_HTTP_REDIRECT
    from saml2.config import IdPConfig
    from saml2.server import Server

    key, cert = idp_keys
    for name, value in {
        "SSO_SAML_PROVIDERS": "corp", "SSO_SAML_CORP_IDP_ENTITY_ID": IDP,
        "SSO_SAML_CORP_IDP_SSO_URL": f"{IDP}/sso", "SSO_SAML_CORP_IDP_X509CERT": cert.read_text(),
        "SSO_SAML_CORP_ROLE_MAP": "PortalOperators=operator,PortalAdmins=admin",
        "SSO_SAML_CORP_ALLOWED_DOMAINS": "contoso.test",
    }.items():  # fmt: skip
        monkeypatch.setenv(name, value)
    settings.SOCIALACCOUNT_PROVIDERS = socialaccount_providers()
    settings.ALLOWED_HOSTS = [HOST]
    from django.test import Client

    client = Client(HTTP_HOST=HOST)
    sp_metadata = client.get("/accounts/saml/corp/metadata/").content.decode()
    (tmp_path / "sp.xml").write_text(sp_metadata)
    config = IdPConfig()
    config.load({
        "entityid": IDP,
        "key_file": str(key), "cert_file": str(cert),
        "metadata": {"local": [str(tmp_path / "sp.xml")]},
        "service": {"idp": {
            "endpoints": {"single_sign_on_service": [(f"{IDP}/sso", BINDING_HTTP_REDIRECT)]},
            "policy": {"default": {"sign_assertion": True, "name_form":
                       "urn:oasis:names:tc:SAML:2.0:attrname-format:uri"}},
        }},
        "xmlsec_binary": "/usr/bin/xmlsec1",
    })  # fmt: skip
    server = Server(config=config)

    def sign_in(oid: str, email: str, roles: list[str], tamper=None):
        start = client.post("/accounts/saml/corp/login/")
        assert start.status_code == 302, start.content
        query = parse_qs(urlsplit(start["Location"]).query)
        request = server.parse_authn_request(query["SAMLRequest"][0], BINDING_HTTP_REDIRECT)
        acs = request.message.assertion_consumer_service_url
        response = server.create_authn_response(
            identity={OID: [oid], MAIL: [email], NAME: [email], ROLE: roles},
            in_response_to=request.message.id, destination=acs,
            sp_entity_id=request.message.issuer.text, userid=oid,
            name_id=None, sign_assertion=True, sign_response=False,
            authn={"class_ref": "urn:oasis:names:tc:SAML:2.0:ac:classes:PasswordProtectedTransport",
                   "authn_auth": IDP},
            sign_alg="http://www.w3.org/2001/04/xmldsig-more#rsa-sha256",
            digest_alg="http://www.w3.org/2001/04/xmlenc#sha256",
        )  # fmt: skip
        xml = tamper(str(response)) if tamper else str(response)
        return client.post(urlsplit(acs).path, {
            "SAMLResponse": base64.b64encode(xml.encode()).decode(),
            "RelayState": query.get("RelayState", [""])[0],
        }, follow=True)  # fmt: skip

    return client, sign_in


def test_saml_sign_in_maps_the_role(saml):
    client, sign_in = saml
    response = sign_in("0b7f-oid-1", "olga@contoso.test", ["PortalOperators"])
    user = get_user_model().objects.get(email="olga@contoso.test")
    assert user_role(user) == Role.OPERATOR
    assert response.wsgi_request.user == user
    assert AuditEvent.objects.filter(action="auth.login", actor_username=user.username).exists()


def test_saml_user_without_a_mapped_role_gets_no_access(saml):
    client, sign_in = saml
    response = sign_in("0b7f-oid-2", "nora@contoso.test", ["Everyone"])
    assert response.status_code == 403
    assert not get_user_model().objects.filter(email="nora@contoso.test").exists()
    assert AuditEvent.objects.filter(result="denied").exists()


def test_saml_user_outside_the_allowed_domains_is_refused(saml):
    client, sign_in = saml
    sign_in("0b7f-oid-3", "mallory@evil.test", ["PortalAdmins"])
    assert not get_user_model().objects.filter(email="mallory@evil.test").exists()


def test_a_tampered_assertion_is_refused(saml):
    client, sign_in = saml
    sign_in("0b7f-oid-4", "eve@contoso.test", ["PortalOperators"],
            tamper=lambda xml: xml.replace("PortalOperators", "PortalAdmins"))  # fmt: skip
    assert not get_user_model().objects.filter(email="eve@contoso.test").exists()
