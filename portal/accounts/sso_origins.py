"""Where each configured SSO provider's sign-in page is: the origins the CSP must let forms reach.

The browser applies ``form-action`` to the redirect that answers a form submission, so the
confirmation form on allauth's provider login view (POST → 302 to the IdP) is blocked unless the
IdP's origin is listed. The origin is the one allauth will really redirect to:

* OpenID Connect (Entra ID included): ``authorization_endpoint`` from the issuer's discovery
  document, fetched with a timeout and cached; if it cannot be read, the issuer's own origin
  (for Entra that is the authority, https://login.microsoftonline.com) and a problem saying so.
* SAML: the IdP's SSO URL, configured or read from its metadata (allauth's cached parser).

The providers are the ones ``portal.accounts.sso_config`` put into ``SOCIALACCOUNT_PROVIDERS``.
"""

import hashlib
from dataclasses import dataclass
from urllib.parse import urlsplit

import requests
from django.conf import settings
from django.core.cache import cache

FETCH_TIMEOUT = 5  # seconds; /healthz and the sign-in page wait at most this long
CACHE_SECONDS = 3600
FAILURE_CACHE_SECONDS = 60  # an unreachable IdP is asked again a minute later, not per request
WELL_KNOWN = "/.well-known/openid-configuration"


@dataclass(frozen=True)
class SignInOrigin:
    provider: str  # the NAME of SSO_OIDC_<NAME>_… / SSO_SAML_<NAME>_…
    kind: str  # entra | oidc | saml
    origin: str  # scheme://host[:port]; "" when it could not be found
    source: str  # discovery | issuer | sso_url | metadata | none
    problem: str = ""  # why the origin is a fallback or missing, in words


def origin_of(url: str) -> str:
    """``https://Login.Example.com:443/x`` → ``https://login.example.com``; "" if not http(s)."""
    try:
        parts = urlsplit(url or "")
        port = parts.port
    except ValueError:
        return ""
    if parts.scheme not in ("http", "https") or not parts.hostname:
        return ""
    host = parts.hostname.lower()
    if ":" in host:
        host = f"[{host}]"
    if port is None or port == {"http": 80, "https": 443}[parts.scheme]:
        return f"{parts.scheme}://{host}"
    return f"{parts.scheme}://{host}:{port}"


def discovery_url(server_url: str) -> str:
    # The same rule allauth's OpenID Connect provider applies to ``server_url``.
    if "/.well-known/" in server_url:
        return server_url
    return server_url.rstrip("/") + WELL_KNOWN


def _cached(key_prefix: str, url: str, fetch) -> dict:
    key = f"sso.origin.{key_prefix}.{hashlib.sha256(url.encode()).hexdigest()}"
    found = cache.get(key)
    if found is None:
        found = fetch(url)
        cache.set(key, found, FAILURE_CACHE_SECONDS if "error" in found else CACHE_SECONDS)
    return found


def _fetch_discovery(url: str) -> dict:
    try:
        response = requests.get(url, timeout=FETCH_TIMEOUT, headers={"Accept": "application/json"})
    except requests.Timeout:
        return {"error": f"the discovery document {url} did not answer within {FETCH_TIMEOUT} s"}
    except requests.RequestException:
        return {"error": f"the discovery document {url} could not be reached"}
    if response.status_code != 200:
        return {"error": f"the discovery document {url} answered HTTP {response.status_code}"}
    try:
        endpoint = response.json().get("authorization_endpoint")
    except (ValueError, AttributeError):
        endpoint = None
    if not isinstance(endpoint, str) or not origin_of(endpoint):
        return {"error": f"the discovery document {url} names no authorization_endpoint URL"}
    return {"authorization_endpoint": endpoint}


def _fetch_saml_metadata(idp: dict):
    def fetch(url: str) -> dict:
        from allauth.socialaccount.providers.saml.utils import fetch_metadata_url_config

        try:
            # allauth's own parser and cache: the SSO URL it will redirect to.
            config = fetch_metadata_url_config({**idp, "metadata_request_timeout": FETCH_TIMEOUT})
            return {"sso_url": config["idp"]["singleSignOnService"]["url"]}
        except Exception:  # noqa: BLE001  (unreachable, not XML, no such entity, no SSO service)
            return {"error": f"the IdP metadata {url} could not be read or names no SSO URL"}

    return fetch


def _oidc(name: str, app: dict) -> SignInOrigin:
    app_settings = app.get("settings", {})
    kind = app_settings.get("portal", {}).get("kind", "oidc")
    server_url = app_settings.get("server_url", "")
    overrides = app_settings.get("openid_configuration_overrides", {})
    if overrides.get("authorization_endpoint"):
        return SignInOrigin(name, kind, origin_of(overrides["authorization_endpoint"]), "discovery")
    url = discovery_url(server_url)
    found = _cached("oidc", url, _fetch_discovery)
    if "error" in found:
        fallback = origin_of(server_url)
        return SignInOrigin(name, kind, fallback, "issuer" if fallback else "none", found["error"])
    return SignInOrigin(name, kind, origin_of(found["authorization_endpoint"]), "discovery")


def _saml(name: str, app: dict) -> SignInOrigin:
    idp = app.get("settings", {}).get("idp", {})
    if idp.get("sso_url"):
        return SignInOrigin(name, "saml", origin_of(idp["sso_url"]), "sso_url")
    url = idp.get("metadata_url", "")
    found = _cached("saml", url, _fetch_saml_metadata(idp))
    if "error" in found:
        return SignInOrigin(name, "saml", "", "none", found["error"])
    return SignInOrigin(name, "saml", origin_of(found["sso_url"]), "metadata")


def _apps():
    providers = getattr(settings, "SOCIALACCOUNT_PROVIDERS", {}) or {}
    for app in providers.get("openid_connect", {}).get("APPS", []):
        yield "openid_connect", app["provider_id"], app
    for app in providers.get("saml", {}).get("APPS", []):
        yield "saml", app["client_id"], app  # the organization slug in /accounts/saml/<slug>/


def sign_in_origin(provider_type: str, name: str) -> SignInOrigin | None:
    """The origin of one configured provider; None if no such provider is configured."""
    for kind, app_name, app in _apps():
        if kind == provider_type and app_name == name:
            return _oidc(name, app) if kind == "openid_connect" else _saml(name, app)
    return None


def all_sign_in_origins() -> list[SignInOrigin]:
    return [
        _oidc(name, app) if kind == "openid_connect" else _saml(name, app)
        for kind, name, app in _apps()
    ]


def origin_warnings(found: SignInOrigin, *, production: bool) -> list[str]:
    """What would keep a browser from reaching this provider's sign-in page, in words."""
    warnings = []
    if not found.origin:
        warnings.append(
            f"SSO provider '{found.provider}': {found.problem or 'no sign-in URL is configured'}, "
            f"so the Content-Security-Policy cannot allow its sign-in page and browsers will "
            f"block sign-in with it."
        )
        return warnings
    if found.problem:
        warnings.append(
            f"SSO provider '{found.provider}': {found.problem}; the Content-Security-Policy "
            f"allows the issuer's origin {found.origin} instead, and browsers will block "
            f"sign-in if the provider's authorization endpoint is on another origin."
        )
    if production and not found.origin.startswith("https://"):
        warnings.append(
            f"SSO provider '{found.provider}': its sign-in page {found.origin} is not HTTPS; "
            f"browsers warn about or block sending the sign-in form there from an HTTPS portal."
        )
    return warnings
