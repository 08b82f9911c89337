"""Minimal HTTP(S) for the Autodiscover / MAPI / EWS probes, on netguard-vetted connections.

Every request connects to an IP vetted by netguard (a host is resolved once per probe and then
pinned), verifies TLS with the probe's CA file, and is bounded by a timeout.  Redirects are
followed by hand so the chain can be shown, each hop vetted again.
"""

from __future__ import annotations

import http.client
import ssl
from dataclasses import dataclass, field
from urllib.parse import urljoin, urlsplit

from connectivity import netguard
from connectivity.explain import said
from connectivity.i18n import N_
from connectivity.netguard import Resolver
from connectivity.probes import tls as tlsmod
from connectivity.probes.core import Recorder
from connectivity.probes.tcp import CONNECT, RESOLVE

MAX_BODY = 4 * 1024 * 1024
MAX_REDIRECTS = 10


@dataclass
class Response:
    url: str
    status: int
    reason: str
    headers: http.client.HTTPMessage
    body: bytes
    chain: list[str] = field(default_factory=list)  # "302 http://a → https://b" hops

    def header(self, name: str, default: str = "") -> str:
        return self.headers.get(name, default)

    def all(self, name: str) -> list[str]:
        return self.headers.get_all(name) or []


def auth_header(username: str | None, password: str | None, token: str | None) -> str | None:
    """Authorization header value: Bearer token, or Basic user:password, or None."""
    import base64

    if token:
        return f"Bearer {token}"
    if username:
        return "Basic " + base64.b64encode(f"{username}:{password or ''}".encode()).decode()
    return None


def verified_context(ca_file: str | None) -> ssl.SSLContext:
    ctx = ssl.create_default_context(cafile=ca_file or tlsmod.default_ca_file())
    if not tlsmod.verification_enabled():
        ctx.check_hostname = False
        ctx.verify_mode = ssl.CERT_NONE
    return ctx


class Client:
    """Pinned, vetted HTTP(S) client for one probe run."""

    def __init__(
        self,
        *,
        ca_file: str | None = None,
        timeout: float = 10.0,
        allow_link_local: bool = False,
        resolver: Resolver | None = None,
    ) -> None:
        self.ca_file = ca_file
        self.timeout = timeout
        self.allow_link_local = allow_link_local
        self.resolver = resolver
        self.pins: dict[str, list[str]] = {}
        self._ctx = verified_context(ca_file)

    def addresses(self, host: str, port: int) -> list[str]:
        key = host.lower()
        if key not in self.pins:
            self.pins[key] = netguard.resolve(
                host,
                port,
                allow_link_local=self.allow_link_local,
                resolver=self.resolver,
                timeout=self.timeout,
            )
        return self.pins[key]

    def _connection(self, url: str) -> http.client.HTTPConnection:
        parts = urlsplit(url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ValueError(N_("not an http(s) URL: %(url)s", url=url))
        port = parts.port or (443 if parts.scheme == "https" else 80)
        addresses = self.addresses(parts.hostname, port)
        client = self

        class _Pinned(http.client.HTTPSConnection):
            def connect(self):
                sock, _ = netguard.connect_first(
                    addresses, port, timeout=client.timeout,
                    allow_link_local=client.allow_link_local,
                )  # fmt: skip
                if parts.scheme == "https":
                    sock = client._ctx.wrap_socket(
                        sock, server_hostname=tlsmod.sni_name(parts.hostname) or parts.hostname
                    )
                self.sock = sock

        conn = _Pinned(parts.hostname, port, timeout=self.timeout, context=self._ctx)
        return conn

    def request(
        self,
        method: str,
        url: str,
        *,
        headers: dict[str, str] | None = None,
        body: bytes | None = None,
        follow: bool = False,
        allow_downgrade: bool = False,
    ) -> Response:
        chain: list[str] = []
        for _ in range(MAX_REDIRECTS + 1):
            response = self._once(method, url, headers or {}, body)
            location = response.header("Location")
            if not follow or response.status not in (301, 302, 303, 307, 308) or not location:
                response.chain = chain
                return response
            target = urljoin(url, location)
            if urlsplit(target).scheme != "https" and not allow_downgrade:
                raise ValueError(N_("refusing redirect to non-HTTPS URL %(url)s", url=target))
            chain.append(f"{response.status} {url} → {target}")
            url = target
        raise ValueError(N_("more than %(n)s redirects", n=MAX_REDIRECTS))

    def _once(self, method: str, url: str, headers: dict[str, str], body: bytes | None):
        conn = self._connection(url)
        parts = urlsplit(url)
        path = parts.path or "/"
        if parts.query:
            path += "?" + parts.query
        try:
            conn.request(method, path, body=body, headers=headers)
            resp = conn.getresponse()
            data = resp.read(MAX_BODY)
            return Response(url, resp.status, resp.reason, resp.headers, data)
        finally:
            conn.close()


def tls_steps(
    rec: Recorder,
    url: str,
    *,
    ca_file: str | None,
    timeout: float,
    allow_link_local: bool,
    resolver: Resolver | None,
    client: Client,
) -> None:
    """Resolve / TCP / TLS certificate steps for the host of ``url`` (Analyzer style)."""
    parts = urlsplit(url)
    host = parts.hostname or ""
    port = parts.port or (443 if parts.scheme == "https" else 80)
    with rec.step(RESOLVE) as s:
        addresses = client.addresses(host, port)
        s.detail = f"{host} → {', '.join(addresses)}"
    with rec.step(CONNECT) as s:
        sock, address = netguard.connect_first(
            addresses, port, timeout=timeout, allow_link_local=allow_link_local
        )
        s.detail = N_("connected to %(address)s", address=f"{address}:{port}")
    if parts.scheme != "https":
        sock.close()
        return
    try:
        tls = tlsmod.wrap(rec, sock, host, timeout)
    except BaseException:
        sock.close()
        raise
    try:
        tlsmod.evaluate(rec, tls, host, ca_file)
    finally:
        tls.close()


def http_hints(exc: BaseException):
    if isinstance(exc, ssl.SSLCertVerificationError):
        return N_("certificate verification failed: %(reason)s", reason=exc.verify_message), N_(
            "The server's certificate is not trusted for this name; see the certificate steps "
            "or add the issuing CA in {ca_file}."
        )
    if isinstance(exc, http.client.HTTPException):
        return N_("HTTP protocol error: %(error)s", error=repr(exc)), N_(
            "The server's answer is not valid HTTP."
        )
    if isinstance(exc, ValueError):
        return said(exc), N_("Check the URL.")
    return None
