"""Minimal HTTP(S) for the Autodiscover / MAPI / EWS probes, on netguard-vetted connections.

Every request connects to an IP vetted by netguard (a host is resolved once per probe and then
pinned), verifies TLS with the probe's CA file, and is bounded by a timeout.  Redirects are
followed by hand so the chain can be shown, each hop vetted again.
"""

from __future__ import annotations

import base64
import http.client
import ssl
from dataclasses import dataclass, field
from urllib.parse import urljoin, urlsplit

import spnego
import spnego.channel_bindings
from cryptography import x509
from cryptography.exceptions import UnsupportedAlgorithm
from cryptography.hazmat.primitives import hashes

from connectivity import netguard
from connectivity.explain import said
from connectivity.i18n import N_
from connectivity.netguard import Resolver
from connectivity.probes import tls as tlsmod
from connectivity.probes.core import InvalidInput, Recorder
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
    if token:
        return f"Bearer {token}"
    if username:
        return "Basic " + base64.b64encode(f"{username}:{password or ''}".encode()).decode()
    return None


@dataclass(frozen=True)
class Ntlm:
    """Windows (NTLM) sign-in for one request: user (user@domain or DOMAIN\\user), password."""

    username: str
    password: str

    def __repr__(self) -> str:  # never show the password in a traceback or log
        return f"Ntlm({self.username!r})"


NTLM_NOT_OFFERED_HINT = N_(
    "Enable Windows authentication on this virtual directory in Exchange "
    "(Set-AutodiscoverVirtualDirectory -WindowsAuthentication $true; Set-MapiVirtualDirectory "
    "-IISAuthenticationMethods Ntlm,Negotiate,OAuth), or choose Basic with {auth_method}."
)
NTLM_REFUSED_HINT = N_(
    "The server refused the NTLM sign-in: check the user name (user@domain or DOMAIN\\user) "
    "and the password, and that the account is not locked out."
)


class NtlmFailed(Exception):
    """The NTLM handshake could not be completed (not a refused password: that is a 401)."""

    def __init__(self, detail: str, hint: str) -> None:
        super().__init__(detail)
        self.detail, self.hint = detail, hint


def _tls_end_point(sock) -> spnego.channel_bindings.GssChannelBindings | None:
    """Channel binding (RFC 5929 tls-server-end-point): Exchange with Extended Protection
    refuses NTLM over TLS without it."""
    der = sock.getpeercert(binary_form=True) if isinstance(sock, ssl.SSLSocket) else None
    if not der:
        return None
    try:
        algorithm = x509.load_der_x509_certificate(der).signature_hash_algorithm
    except (UnsupportedAlgorithm, ValueError):
        algorithm = None
    if algorithm is None or algorithm.name in ("md5", "sha1"):
        algorithm = hashes.SHA256()
    digest = hashes.Hash(algorithm)
    digest.update(der)
    return spnego.channel_bindings.GssChannelBindings(
        application_data=b"tls-server-end-point:" + digest.finalize()
    )


def _ntlm_challenge(response: Response) -> str | None:
    """The CHALLENGE token (base64 text) of a 401, or None when it carries none."""
    for value in response.all("WWW-Authenticate"):
        scheme, _, token = value.strip().partition(" ")
        if scheme.lower() == "ntlm" and token.strip():
            return token.strip()
    return None


def sign_in(username: str | None, password: str | None, token: str | None,
            auth: str = "basic") -> tuple[str | None, Ntlm | None]:  # fmt: skip
    """(Authorization header, NTLM credential) for a probe's requests: a token or Basic goes in
    a header of every request, NTLM (``auth="ntlm"``) does a handshake per connection."""
    if auth not in ("basic", "ntlm"):
        raise InvalidInput(N_("the sign-in must be basic or ntlm"))
    if auth == "ntlm":
        if token:
            raise InvalidInput(N_("NTLM signs in with a user name and password, not a token"))
        if not username:
            raise InvalidInput(N_("NTLM needs a user name and a password"))
        return None, Ntlm(username, password or "")
    return auth_header(username, password, token), None


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
        ntlm: Ntlm | None = None,
    ) -> Response:
        """One request (with ``ntlm``: its own NTLM handshake on one kept-open connection)."""
        chain: list[str] = []
        for _ in range(MAX_REDIRECTS + 1):
            response = self._once(method, url, headers or {}, body, ntlm)
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

    def _once(self, method: str, url: str, headers: dict[str, str], body: bytes | None,
              ntlm: Ntlm | None = None):  # fmt: skip
        conn = self._connection(url)
        parts = urlsplit(url)
        path = parts.path or "/"
        if parts.query:
            path += "?" + parts.query
        try:
            if ntlm is not None:
                return self._ntlm(conn, url, method, path, headers, body, ntlm)
            return _send(conn, url, method, path, headers, body)[0]
        finally:
            conn.close()

    def _ntlm(self, conn, url, method, path, headers, body, cred: Ntlm) -> Response:
        """NEGOTIATE → 401 CHALLENGE → AUTHENTICATE, all on ``conn`` (NTLM signs in a
        connection, not a request): a reconnect in between would start over unauthenticated."""
        conn.connect()
        conn.auto_open = 0  # http.client must never reopen it silently between the legs
        client = spnego.client(
            cred.username, cred.password, hostname=urlsplit(url).hostname, service="http",
            protocol="ntlm", channel_bindings=_tls_end_point(conn.sock),
        )  # fmt: skip
        negotiate = {**headers, "Authorization": "NTLM " + base64.b64encode(client.step()).decode()}
        first, closed = _send(conn, url, method, path, negotiate, body)
        if first.status != 401:
            return first  # no sign-in asked for: the answer stands as it is
        challenge = _ntlm_challenge(first)
        schemes = [v.split(" ", 1)[0] for v in first.all("WWW-Authenticate")]
        if challenge is None and "ntlm" in {scheme.lower() for scheme in schemes}:
            raise NtlmFailed(
                N_("%(method)s %(url)s: the server offers NTLM but answered the NTLM negotiate "
                   "without a challenge", method=method, url=url),
                N_("Something between the portal and Exchange (a proxy or load balancer) drops "
                   "the Authorization header or the connection; NTLM needs both passed through."),
            )  # fmt: skip
        if challenge is None:
            raise NtlmFailed(
                N_("%(method)s %(url)s: the server does not offer NTLM (it offers: %(schemes)s)",
                   method=method, url=url, schemes=", ".join(schemes) or N_("none")),
                NTLM_NOT_OFFERED_HINT,
            )  # fmt: skip
        if closed:
            raise NtlmFailed(
                N_("%(method)s %(url)s: the server closed the connection after the NTLM "
                   "challenge", method=method, url=url),
                N_("NTLM signs in one connection: a proxy or load balancer in front of Exchange "
                   "must keep the connection open between the requests of the handshake."),
            )  # fmt: skip
        try:
            token = client.step(base64.b64decode(challenge, validate=True))
        except Exception as exc:  # noqa: BLE001 - pyspnego parses the server's bytes and may raise
            # anything (KeyError, struct.error, SpnegoError) on a garbled one: all say the same
            raise NtlmFailed(
                N_("%(method)s %(url)s: the server's NTLM challenge is unusable: %(error)s",
                   method=method, url=url, error=f"{type(exc).__name__}: {exc}"),
                N_("The server answered with a malformed NTLM challenge; check what is in front "
                   "of Exchange (a proxy rewriting the Authorization headers)."),
            ) from None  # fmt: skip
        auth = {**headers, "Authorization": "NTLM " + base64.b64encode(token or b"").decode()}
        return _send(conn, url, method, path, auth, body)[0]


def _send(conn, url, method, path, headers, body) -> tuple[Response, bool]:
    """One request/response on ``conn``: (response, whether the server closes the connection)."""
    conn.request(method, path, body=body, headers=headers)
    resp = conn.getresponse()
    data = resp.read(MAX_BODY)
    return Response(url, resp.status, resp.reason, resp.headers, data), resp.will_close


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
    if isinstance(exc, NtlmFailed):
        return exc.detail, exc.hint
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
