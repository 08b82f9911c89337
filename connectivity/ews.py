"""EWS client helpers shared by the portal's probes and jobs (built on exchangelib).

Small API:

* :func:`fetch_token` — client-credentials (or password) grant against ANY OAuth 2.0 token URL
  (Entra ID, the sandbox, ...), with a timeout.
* :func:`oauth_credentials` / :func:`basic_credentials` — exchangelib credentials. OAuth
  credentials carry the token URL so exchangelib refreshes tokens from the same endpoint.
* :func:`trust_ca` — trust a CA bundle for one host:port only (other hosts keep the system
  trust store); used instead of ever disabling TLS verification.
* :func:`build_account` — an exchangelib ``Account`` from an EWS URL or via Autodiscover.

Every network call made here or by exchangelib through these objects has a timeout.
"""

from __future__ import annotations

import contextlib
import threading
import time
from typing import Any
from urllib.parse import urlsplit

import requests
from exchangelib import (
    BASIC,
    DELEGATE,
    IMPERSONATION,
    NTLM,
    OAUTH2,
    Account,
    Configuration,
    Credentials,
    FailFast,
    OAuth2Credentials,
    OAuth2LegacyCredentials,
)
from exchangelib.autodiscover import AutodiscoverProtocol, autodiscover_cache
from exchangelib.credentials import BaseCredentials, BaseOAuth2Credentials
from exchangelib.protocol import BaseProtocol, Protocol, RetryPolicy

from connectivity.tlspolicy import verification_enabled

EXO_SCOPE = "https://outlook.office365.com/.default"
# How username/password credentials are sent to Exchange Server (IIS offers both).
PASSWORD_AUTH = {"basic": BASIC, "ntlm": NTLM}
DEFAULT_TIMEOUT = 30.0

__all__ = [
    "EXO_SCOPE",
    "PASSWORD_AUTH",
    "CABundleAdapter",
    "TokenError",
    "basic_credentials",
    "build_account",
    "fetch_token",
    "oauth_credentials",
    "trust_ca",
]


class TokenError(RuntimeError):
    """The token endpoint refused the request (``error``/``error_description`` from OAuth)."""

    def __init__(self, status: int, error: str, description: str):
        super().__init__(f"HTTP {status} {error}: {description}")
        self.status = status
        self.error = error
        self.description = description


# --- TLS trust per host ---------------------------------------------------------------------
def _host_key(url: str) -> tuple[str, int]:
    parts = urlsplit(url)
    return (parts.hostname or "").lower(), parts.port or (443 if parts.scheme == "https" else 80)


class CABundleAdapter(requests.adapters.HTTPAdapter):
    """requests adapter that verifies TLS with a CA bundle registered for the target host:port.

    A registered bundle replaces the default trust (``True`` or a REQUESTS_CA_BUNDLE path) for
    that host only; other hosts are verified as usual, and ``verify=False`` is never changed.
    Installed as exchangelib's ``BaseProtocol.HTTP_ADAPTER_CLS`` by :func:`trust_ca`.
    """

    _bundles: dict[tuple[str, int], str] = {}
    _lock = threading.Lock()

    @classmethod
    def register(cls, url: str, ca_file: str) -> None:
        with cls._lock:
            cls._bundles[_host_key(url)] = str(ca_file)

    @classmethod
    def forget(cls, url: str) -> None:
        """Stop trusting a registered bundle for the host:port of ``url``."""
        with cls._lock:
            cls._bundles.pop(_host_key(url), None)

    @classmethod
    def bundle_for(cls, url: str) -> str | None:
        return cls._bundles.get(_host_key(url))

    def send(self, request, stream=False, timeout=None, verify=True, cert=None, proxies=None):
        if not verification_enabled():
            verify = False  # an administrator turned verification off for this target
        elif verify is not False:
            verify = self.bundle_for(request.url) or verify
        return super().send(
            request, stream=stream, timeout=timeout, verify=verify, cert=cert, proxies=proxies
        )


def trust_ca(url: str, ca_file: str | None) -> None:
    """Trust `ca_file` for the host:port of `url` (in exchangelib and in this module)."""
    if not ca_file:
        return
    current = BaseProtocol.HTTP_ADAPTER_CLS
    if current is not CABundleAdapter:
        if current is not requests.adapters.HTTPAdapter:
            raise RuntimeError(
                f"exchangelib already uses a custom HTTP adapter ({current!r}); refusing to "
                "replace it"
            )
        BaseProtocol.HTTP_ADAPTER_CLS = CABundleAdapter
    CABundleAdapter.register(url, ca_file)


# --- tokens and credentials -----------------------------------------------------------------
def fetch_token(
    token_url: str,
    client_id: str,
    client_secret: str,
    *,
    scope: str = EXO_SCOPE,
    username: str | None = None,
    password: str | None = None,
    ca_file: str | None = None,
    timeout: float = DEFAULT_TIMEOUT,
) -> dict[str, Any]:
    """Request a token (client_credentials, or password grant when `username` is given).

    Returns the token response dict with an added ``expires_at`` (epoch seconds), the shape
    exchangelib / requests-oauthlib accept as ``access_token``. Raises :class:`TokenError`.
    """
    form = {"client_id": client_id, "client_secret": client_secret, "scope": scope}
    if username is not None:
        form.update({"grant_type": "password", "username": username, "password": password or ""})
    else:
        form["grant_type"] = "client_credentials"
    return post_token_request(token_url, form, ca_file=ca_file, timeout=timeout)


def post_token_request(
    token_url: str, form: dict[str, str], *, ca_file: str | None, timeout: float
) -> dict[str, Any]:
    """POST a token request; the response dict gains ``expires_at``. Raises TokenError."""
    verify: str | bool = ca_file or CABundleAdapter.bundle_for(token_url) or True
    if not verification_enabled():
        verify = False
    resp = requests.post(
        token_url, data=form, timeout=timeout, verify=verify, headers={"Accept": "application/json"}
    )
    try:
        data = resp.json()
    except ValueError:
        data = {}
    if resp.status_code != 200 or "access_token" not in data:
        raise TokenError(
            resp.status_code,
            data.get("error", "invalid_response"),
            data.get("error_description", resp.text[:200]),
        )
    data["expires_at"] = time.time() + float(data.get("expires_in", 3600))
    return data


class _TokenURLMixin:
    """exchangelib hard-codes login.microsoftonline.com; these subclasses take the URL."""

    _token_url: str
    _scope: tuple[str, ...]

    @property
    def token_url(self) -> str:
        return self._token_url

    @property
    def scope(self) -> list[str]:
        return list(self._scope)


class TokenURLOAuth2Credentials(_TokenURLMixin, OAuth2Credentials):
    """App-only (client credentials) OAuth with a configurable token endpoint."""


class TokenURLOAuth2LegacyCredentials(_TokenURLMixin, OAuth2LegacyCredentials):
    """Delegated (password grant) OAuth with a configurable token endpoint."""


def oauth_credentials(
    token_url: str,
    client_id: str,
    client_secret: str,
    *,
    tenant_id: str | None = None,
    token: dict | str | None = None,
    username: str | None = None,
    password: str | None = None,
    scope: str | None = None,
) -> BaseOAuth2Credentials:
    """exchangelib OAuth credentials bound to `token_url`.

    `token` may be a pre-fetched token (dict from :func:`fetch_token`, or a raw JWT string);
    without it exchangelib fetches one from `token_url` on first use and refreshes it there.
    With `username`/`password` the delegated (EWS.AccessAsUser.All) password grant is used.
    """
    if isinstance(token, str):
        token = {"access_token": token, "token_type": "Bearer", "expires_at": time.time() + 3600}
    kwargs = {
        "client_id": client_id,
        "client_secret": client_secret,
        "tenant_id": tenant_id,
        "access_token": token,
    }
    if username is not None:
        creds = TokenURLOAuth2LegacyCredentials(username=username, password=password, **kwargs)
        default_scope = "https://outlook.office365.com/EWS.AccessAsUser.All"
    else:
        creds = TokenURLOAuth2Credentials(**kwargs)
        default_scope = EXO_SCOPE
    creds._token_url = token_url
    creds._scope = (scope or default_scope,)
    return creds


def basic_credentials(username: str, password: str) -> Credentials:
    return Credentials(username=username, password=password)


# --- accounts -------------------------------------------------------------------------------
def _forget_protocol_with_other_auth(config: Configuration) -> None:
    """exchangelib shares one Protocol per (endpoint, credentials) whatever its auth type, so a
    tenant switched from Basic to NTLM (or back) would keep signing in the old way. A cached
    Protocol that signs in differently is dropped from the cache (not closed: another thread may
    still be using it)."""
    try:
        cached, _ = Protocol[config]
    except KeyError:
        return
    if not isinstance(cached, Exception) and cached.config.auth_type != config.auth_type:
        with contextlib.suppress(KeyError):  # another thread may have dropped it first
            del Protocol[config]


def build_account(
    mailbox: str,
    credentials: BaseCredentials,
    *,
    ews_url: str | None = None,
    autodiscover_url: str | None = None,
    impersonation: bool | None = None,
    ca_file: str | None = None,
    timeout: float = DEFAULT_TIMEOUT,
    retry_policy: RetryPolicy | None = None,
    max_connections: int | None = None,
    auth: str = "basic",
) -> Account:
    """Build an exchangelib Account for `mailbox`.

    * `ews_url` given: no autodiscover (``autodiscover=False``).
    * `autodiscover_url` given: exchangelib's autodiscover is used, starting from this known
      SOAP Autodiscover endpoint (seeded into exchangelib's autodiscover cache for the mailbox
      domain, like a known-endpoint override) instead of DNS guessing.
    * neither: plain exchangelib autodiscover (DNS/HTTPS probing of the mailbox domain).

    `impersonation` defaults to True for app-only OAuth credentials (ExchangeImpersonation
    header + X-AnchorMailbox) and False (delegate access) otherwise. `ca_file` is trusted for
    the EWS / Autodiscover / token hosts only. `timeout` applies to every HTTP request;
    `retry_policy` defaults to FailFast (pass ``FaultTolerance(max_wait=...)`` for jobs).
    `max_connections` caps parallel HTTP sessions (exchangelib's default is 1). Note: with
    exchangelib 5.6.0, max_connections > 1 combined with ErrorServerBusy back-off can deadlock
    in ``Protocol.decrease_poolsize``; prefer one account (own credentials) per worker.
    `auth` picks how username/password credentials are sent: ``"basic"`` or ``"ntlm"``
    (Exchange Server); OAuth credentials always go as a bearer token.
    """
    if auth not in PASSWORD_AUTH:
        raise ValueError(f"auth must be one of {', '.join(PASSWORD_AUTH)}")
    retry_policy = retry_policy or FailFast()
    is_oauth = isinstance(credentials, BaseOAuth2Credentials)
    auth_type = OAUTH2 if is_oauth else PASSWORD_AUTH[auth]
    if impersonation is None:
        impersonation = is_oauth and not isinstance(credentials, OAuth2LegacyCredentials)
    access_type = IMPERSONATION if impersonation else DELEGATE
    for url in (ews_url, autodiscover_url, getattr(credentials, "token_url", None)):
        if url and ca_file:
            trust_ca(url, ca_file)
    if ews_url:
        config = Configuration(
            service_endpoint=ews_url,
            credentials=credentials,
            auth_type=auth_type,
            retry_policy=retry_policy,
        )
        _forget_protocol_with_other_auth(config)
        account = Account(mailbox, config=config, autodiscover=False, access_type=access_type)
    else:
        if autodiscover_url:
            domain = mailbox.rsplit("@", 1)[1].lower()
            ad_protocol = AutodiscoverProtocol(
                config=Configuration(
                    service_endpoint=autodiscover_url,
                    credentials=credentials,
                    auth_type=auth_type,
                    retry_policy=FailFast(),
                )
            )
            ad_protocol.TIMEOUT = timeout
            with autodiscover_cache:
                autodiscover_cache[(domain, credentials)] = ad_protocol
        config = Configuration(
            credentials=credentials, auth_type=auth_type, retry_policy=retry_policy
        )
        account = Account(
            mailbox,
            config=config,
            autodiscover=True,
            access_type=access_type,
            credentials=credentials,
        )
        if ca_file:
            trust_ca(account.protocol.service_endpoint, ca_file)
    # exchangelib shares one Protocol (session pool, retry policy) between accounts with equal
    # credentials on the same endpoint; the latest caller's policy and timeout apply to it.
    account.protocol.config.retry_policy = retry_policy
    if max_connections:
        account.protocol.max_connections = max_connections
    account.protocol.TIMEOUT = timeout
    return account
