"""The CSP lets exactly the configured provider's sign-in origin through, on its start view only;
the start-up check and /healthz (in detail to a signed-in Admin only) say when a provider's
sign-in page would be blocked.

Providers are real HTTP servers on loopback: oidc-provider-mock, a discovery document whose
authorization endpoint is on another origin than its issuer, and pysaml2's IdP metadata.
"""

import json
import socket

import pytest
from django.core.cache import cache
from django.core.checks import run_checks
from django.test import Client
from werkzeug.wrappers import Request, Response

from portal.accounts.sso_config import socialaccount_providers
from portal.accounts.sso_origins import all_sign_in_origins, origin_of
from portal.lib.access import Role
from tests.conftest import make_user
from tests.oidc.servers import oidc_provider, saml_idp, serve

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _fresh_cache():
    # Discovery documents and metadata are cached by URL; loopback ports are reused across runs.
    cache.clear()


def form_action(response) -> str:
    policy = dict(
        part.strip().split(" ", 1) for part in response["Content-Security-Policy"].split(";")
    )
    return policy["form-action"]


def configure(settings, monkeypatch, env: dict) -> None:
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    settings.SOCIALACCOUNT_PROVIDERS = socialaccount_providers()


def oidc_env(issuer: str, name: str = "CORP") -> dict:
    return {
        "SSO_OIDC_PROVIDERS": name.lower(),
        f"SSO_OIDC_{name}_ISSUER": issuer,
        f"SSO_OIDC_{name}_CLIENT_ID": "portal-client",
        f"SSO_OIDC_{name}_CLIENT_SECRET": "portal-secret",
        f"SSO_OIDC_{name}_ROLE_MAP": "portal-admins=admin",
    }


def saml_env(**idp) -> dict:
    env = {
        "SSO_SAML_PROVIDERS": "adfs",
        "SSO_SAML_ADFS_IDP_ENTITY_ID": "https://idp.contoso.test/saml",
        "SSO_SAML_ADFS_ROLE_MAP": "PortalAdmins=admin",
    }
    env.update({f"SSO_SAML_ADFS_IDP_{k.upper()}": v for k, v in idp.items()})
    return env


class Discovery:
    """An issuer whose discovery document sends the browser to another origin, as AD FS or a
    B2C tenant may. Counts how often it is asked."""

    def __init__(self, authorization_endpoint: str):
        self.authorization_endpoint = authorization_endpoint
        self.hits = 0

    def __call__(self, environ, start_response):
        request = Request(environ)
        if request.path != "/.well-known/openid-configuration":
            return Response("Not found", status=404)(environ, start_response)
        self.hits += 1
        body = json.dumps({"issuer": request.host_url.rstrip("/"),
                           "authorization_endpoint": self.authorization_endpoint})  # fmt: skip
        return Response(body, content_type="application/json")(environ, start_response)


def closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def warnings_of(checks) -> list[str]:
    return [c.msg for c in checks if c.id == "portal.W101"]


@pytest.mark.parametrize(
    ("url", "origin"),
    [
        ("https://Login.MicrosoftOnline.com/72f9/oauth2/v2.0/authorize", "https://login.microsoftonline.com"),
        ("https://idp.contoso.test:443/sso", "https://idp.contoso.test"),
        ("http://127.0.0.1:8080/authorize?x=1", "http://127.0.0.1:8080"),
        ("http://[::1]:9000/a", "http://[::1]:9000"),
        ("javascript:alert(1)", ""),
        ("https://", ""),
        ("https://idp:99999/", ""),
    ],
)  # fmt: skip
def test_origin_of(url, origin):
    assert origin_of(url) == origin


def test_only_the_provider_start_view_allows_the_providers_origin(client, settings, monkeypatch):
    with oidc_provider() as idp:
        configure(settings, monkeypatch, oidc_env(idp.url))
        confirmation = client.get("/accounts/oidc/corp/login/?process=login")
        assert confirmation.status_code == 200
        assert form_action(confirmation) == f"'self' {idp.url}"
        # The POST answered with the redirect carries it too (the browser checks the former).
        start = client.post("/accounts/oidc/corp/login/")
        assert start.status_code == 302 and start["Location"].startswith(idp.url + "/")
        assert form_action(start) == f"'self' {idp.url}"
        # Every other page keeps form-action 'self' alone.
        assert form_action(client.get("/accounts/login/")) == "'self'"
        assert form_action(client.get("/accounts/oidc/other/login/")) == "'self'"  # 404
        assert form_action(client.get("/accounts/password/reset/")) == "'self'"


def test_the_origin_comes_from_discovery_not_from_the_issuer(
    client, admin_client, settings, monkeypatch
):
    discovery = Discovery("http://127.0.0.2:4443/authorize")
    with serve(discovery) as issuer:
        configure(settings, monkeypatch, oidc_env(issuer))
        confirmation = client.get("/accounts/oidc/corp/login/")
        assert form_action(confirmation) == "'self' http://127.0.0.2:4443"
        assert issuer not in confirmation["Content-Security-Policy"]
        client.get("/accounts/oidc/corp/login/")
        assert discovery.hits == 1  # cached
        report = admin_client.get("/healthz").json()["sso"]
        assert report["providers"][0]["origin"] == "http://127.0.0.2:4443"
        assert report["providers"][0]["source"] == "discovery"


def test_entra_provider_uses_its_own_discovery(client, settings, monkeypatch):
    with oidc_provider() as idp:
        env = oidc_env("unused")
        env["SSO_OIDC_CORP_TYPE"] = "entra"
        env["SSO_OIDC_CORP_TENANT_ID"] = "72f988bf-86f1-41af-91ab-2d7cd011db47"
        configure(settings, monkeypatch, env)
        app = settings.SOCIALACCOUNT_PROVIDERS["openid_connect"]["APPS"][0]
        assert origin_of(app["settings"]["server_url"]) == "https://login.microsoftonline.com"
        app["settings"]["server_url"] = idp.url  # the loopback provider stands in for Entra
        (found,) = all_sign_in_origins()
        assert (found.kind, found.origin, found.source) == ("entra", idp.url, "discovery")


def test_failed_discovery_falls_back_to_the_issuer_and_warns(
    client, admin_client, settings, monkeypatch
):
    issuer = f"http://127.0.0.1:{closed_port()}/tenant"
    configure(settings, monkeypatch, oidc_env(issuer))
    confirmation = client.get("/accounts/oidc/corp/login/")
    assert form_action(confirmation) == f"'self' {origin_of(issuer)}"
    (warning, not_https) = warnings_of(run_checks())
    assert (
        "could not be reached" in warning
        and f"allows the issuer's origin {origin_of(issuer)}" in warning
    )
    assert "is not HTTPS" in not_https  # DEBUG is off in the tests, as in production
    assert client.get("/healthz").json()["sso"] == {"ok": False, "providers": 1}
    health = admin_client.get("/healthz")
    assert health.status_code == 200  # reported, not fatal
    report = health.json()["sso"]
    assert report["ok"] is False
    assert report["providers"][0]["source"] == "issuer"
    assert report["providers"][0]["warnings"] == [warning, not_https]


def test_a_healthy_https_provider_raises_no_warning(client, admin_client, settings, monkeypatch):
    configure(settings, monkeypatch, saml_env(sso_url="https://adfs.contoso.test/adfs/ls/",
                                              x509cert="MIIC"))  # fmt: skip
    assert warnings_of(run_checks()) == []
    assert client.get("/healthz").json()["sso"] == {"ok": True, "providers": 1}
    assert admin_client.get("/healthz").json()["sso"] == {
        "ok": True,
        "providers": [{"name": "adfs", "kind": "saml", "origin": "https://adfs.contoso.test",
                       "source": "sso_url", "warnings": []}],
    }  # fmt: skip
    confirmation = client.get("/accounts/saml/adfs/login/")
    assert form_action(confirmation) == "'self' https://adfs.contoso.test"


def test_plain_http_is_only_reported_outside_debug(settings, monkeypatch):
    configure(settings, monkeypatch, saml_env(sso_url="http://adfs.contoso.test/adfs/ls/",
                                              x509cert="MIIC"))  # fmt: skip
    (warning,) = warnings_of(run_checks())
    assert "http://adfs.contoso.test is not HTTPS" in warning
    settings.DEBUG = True
    assert warnings_of(run_checks()) == []


def test_saml_origin_from_the_idp_metadata(client, settings, monkeypatch, tmp_path):
    with saml_idp(tmp_path) as idp:
        env = saml_env(metadata_url=f"{idp.url}/metadata", entity_id=idp.entity_id)
        configure(settings, monkeypatch, env)
        (found,) = all_sign_in_origins()
        assert (found.origin, found.source, found.problem) == (idp.url, "metadata", "")
        confirmation = client.get("/accounts/saml/adfs/login/")
        assert form_action(confirmation) == f"'self' {idp.url}"


def test_unreadable_saml_metadata_leaves_no_origin_and_warns(
    client, admin_client, settings, monkeypatch
):
    url = f"http://127.0.0.1:{closed_port()}/FederationMetadata.xml"
    configure(settings, monkeypatch, saml_env(metadata_url=url))
    (warning,) = warnings_of(run_checks())
    assert f"the IdP metadata {url} could not be read" in warning
    assert "browsers will block sign-in" in warning
    assert client.get("/healthz").json()["sso"] == {"ok": False, "providers": 1}
    report = admin_client.get("/healthz").json()["sso"]
    assert report["ok"] is False and report["providers"][0]["origin"] == ""
    assert url in report["providers"][0]["warnings"][0]


def test_no_sso_provider_no_warning_and_an_empty_report(client, admin_client, settings):
    settings.SOCIALACCOUNT_PROVIDERS = {}
    assert warnings_of(run_checks()) == []
    assert client.get("/healthz").json()["sso"] == {"ok": True, "providers": 0}
    assert admin_client.get("/healthz").json()["sso"] == {"ok": True, "providers": []}


def test_healthz_shows_sso_detail_to_a_signed_in_admin_only(admin_client, settings, monkeypatch):
    """Provider names, IdP origins and metadata URLs would map the identity set-up for anyone."""
    url = f"http://127.0.0.7:{closed_port()}/adfs/FederationMetadata.xml"
    configure(settings, monkeypatch, saml_env(metadata_url=url))
    callers = {"anonymous": Client()}
    for name, role, mfa in [("hz-viewer", Role.VIEWER, None), ("hz-operator", Role.OPERATOR, None),
                            ("hz-new-admin", Role.ADMIN, False)]:  # fmt: skip
        callers[name] = Client()
        callers[name].force_login(make_user(name, role, mfa=mfa))
    for who, caller in callers.items():
        health = caller.get("/healthz")
        assert health.status_code == 200, who  # an SSO warning never changes the status
        body = health.json()
        assert body["sso"] == {"ok": False, "providers": 1}, who
        assert {"database", "broker", "audit_guard"} <= body.keys(), who
        assert body["database"]["ok"] is True and body["broker"]["ok"] is True, who
        for secret in ("adfs", "127.0.0.7", "FederationMetadata", "contoso"):
            assert secret not in health.content.decode(), (who, secret)
    # The one who can fix it sees which provider and why; so does `manage.py check`.
    detail = admin_client.get("/healthz").json()["sso"]["providers"]
    assert [p["name"] for p in detail] == ["adfs"] and url in detail[0]["warnings"][0]
    assert url in warnings_of(run_checks())[0]


def test_healthz_keeps_503_and_the_short_sso_answer_when_the_broker_is_down(
    client, admin_client, settings, monkeypatch
):
    configure(settings, monkeypatch, saml_env(sso_url="https://adfs.contoso.test/adfs/ls/",
                                              x509cert="MIIC"))  # fmt: skip
    settings.CELERY_BROKER_URL = "redis://127.0.0.1:1/0"  # nothing listens on port 1
    health = client.get("/healthz")
    assert health.status_code == 503 and health.json()["status"] == "unavailable"
    assert health.json()["sso"] == {"ok": True, "providers": 1}
    assert admin_client.get("/healthz").status_code == 503
