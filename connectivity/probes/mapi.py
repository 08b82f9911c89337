"""MAPI over HTTP probe (MS-OXCMAPIHTTP): discovery, 401 challenge, PING, Connect/Disconnect.

1. Discovery: POX Autodiscover with ``X-MapiHttpCapability: 1`` returns the mapiHttp MailStore
   URL (skipped when the MAPI URL is given).
2. The MAPI host's name, port and certificate (Analyzer-style steps).
3. An unauthenticated POST must be answered 401 with authentication schemes.
4. Authenticated PING, then Connect and Disconnect on the emsmdb endpoint, reading
   ``X-ResponseCode`` (0 = success).
"""

from __future__ import annotations

import struct
import uuid
from http.cookies import SimpleCookie
from urllib.parse import urlsplit

from connectivity.i18n import N_
from connectivity.netguard import Resolver
from connectivity.probes import autodiscover as ad
from connectivity.probes import tls as tlsmod
from connectivity.probes.core import (
    InvalidInput,
    OnStep,
    ProbeResult,
    Recorder,
    Status,
    reject_crlf,
)
from connectivity.probes.http import (
    NTLM_NOT_OFFERED_HINT,
    NTLM_REFUSED_HINT,
    Client,
    http_hints,
    sign_in,
    tls_steps,
)
from connectivity.probes.tcp import CONNECT as TCP_CONNECT
from connectivity.probes.tcp import RESOLVE

DISCOVERY = N_("MAPI discovery (POX, X-MapiHttpCapability: 1)")
CHALLENGE = N_("Unauthenticated request returns 401")
PING = "MAPI PING"
CONNECT = "MAPI Connect"
DISCONNECT = "MAPI Disconnect"
CONTENT_TYPE = "application/mapi-http"

# X-ResponseCode values, MS-OXCMAPIHTTP section 2.2.3.3.3
RESPONSE_CODES = {
    0: N_("Success"),
    1: N_("Unknown failure"),
    2: N_("Invalid verb"),
    3: N_("Invalid path"),
    4: N_("Invalid header"),
    5: N_("Invalid request type"),
    6: N_("Invalid context cookie"),
    7: N_("Missing header"),
    8: N_("Anonymous not allowed"),
    9: N_("Too large"),
    10: N_("Context not found"),
    11: N_("No privilege"),
    12: N_("Invalid request body"),
    13: N_("Missing cookie"),
    15: N_("Invalid sequence"),
    16: N_("Endpoint disabled"),
    17: N_("Invalid response"),
    18: N_("Endpoint shutting down"),
}


def connect_body(user_dn: str) -> bytes:
    """ConnectRequest (MS-OXCMAPIHTTP 2.2.4.1.1): UserDn, Flags, code page, LCIDs, no aux."""
    return (
        user_dn.encode("ascii", "replace") + b"\0" + struct.pack("<IIIII", 0, 1252, 1033, 1033, 0)
    )


def _headers(request_type: str, auth: str | None, cookies: dict[str, str] | None = None):
    h = {
        "Content-Type": CONTENT_TYPE,
        "X-RequestType": request_type,
        "X-ClientInfo": f"{uuid.uuid4()}:1",
        "X-RequestId": f"{uuid.uuid4()}:1",
        "X-ClientApplication": "Outlook/16.0.0.0",
        "User-Agent": "ExchangeInteropPortal-Probe/1",
    }
    if auth:
        h["Authorization"] = auth
    if cookies:
        h["Cookie"] = "; ".join(f"{k}={v}" for k, v in cookies.items())
    return h


def response_code(resp) -> int | None:
    value = resp.header("X-ResponseCode")
    if not value:
        for line in resp.body.split(b"\r\n\r\n", 1)[0].split(b"\r\n"):
            if line.lower().startswith(b"x-responsecode:"):
                value = line.split(b":", 1)[1].decode().strip()
    try:
        return int(value)
    except (TypeError, ValueError):
        return None


def _check(s, what: str, resp, ntlm=None) -> int:
    if resp.status == 401:
        s.fail(f"{what}: 401 Unauthorized", NTLM_REFUSED_HINT if ntlm else ad.AUTH_HINT)
    if resp.status != 200:
        s.fail(
            f"{what}: HTTP {resp.status} {resp.reason}",
            N_(
                "The MAPI virtual directory did not accept the request; check that MAPI over "
                "HTTP is enabled (Set-OrganizationConfig -MapiHttpEnabled $true on-premises)."
            ),
        )
    code = response_code(resp)
    if code != 0:
        meaning = RESPONSE_CODES.get(code, N_("unknown")) if code is not None else N_("missing")
        s.fail(
            N_(
                "%(what)s: X-ResponseCode %(code)s (%(meaning)s)",
                what=what,
                code=code,
                meaning=meaning,
            ),
            N_("The server rejected the MAPI request envelope (MS-OXCMAPIHTTP 2.2.3.3.3)."),
        )
    return code


def probe_mapi(
    email: str,
    *,
    url: str | None = None,
    autodiscover_url: str | None = None,
    username: str | None = None,
    password: str | None = None,
    token: str | None = None,
    ca_file: str | None = None,
    timeout: float = 10.0,
    allow_link_local: bool = False,
    resolver: Resolver | None = None,
    on_step: OnStep | None = None,
    auth: str = "basic",
) -> ProbeResult:
    """``url``: the emsmdb MailStore URL; else discovered through ``autodiscover_url`` (POX).

    ``username`` + ``password`` go out as ``auth`` says: ``"basic"`` or ``"ntlm"`` (a handshake
    of its own for every request, each on one kept-open connection)."""
    for label, value in (("email", email), ("username", username), ("password", password),
                         ("token", token)):  # fmt: skip
        reject_crlf(label, value)
    if not url and not autodiscover_url:
        raise InvalidInput(N_("give the MAPI URL or the Autodiscover (POX) URL"))
    for u in (url, autodiscover_url):
        if u and urlsplit(u).scheme != "https":
            raise InvalidInput(N_("MAPI and Autodiscover URLs must be https://"))
    if not username and not token:
        raise InvalidInput(N_("MAPI needs a credential (username + password, or a token)"))
    authz, ntlm = sign_in(username, password, token, auth)
    plan = [DISCOVERY, RESOLVE, TCP_CONNECT, tlsmod.HANDSHAKE, *tlsmod.CERT_STEPS,
            CHALLENGE, PING, CONNECT, DISCONNECT]  # fmt: skip
    rec = Recorder("mapi", url or email, plan, on_step, [password, token, authz], timeout=timeout)
    client = Client(
        ca_file=ca_file, timeout=timeout, allow_link_local=allow_link_local, resolver=resolver
    )
    user_dn = ""
    with rec:
        if url:
            rec.record(DISCOVERY, Status.SKIP, N_("MAPI URL given"))
        else:
            with rec.step(DISCOVERY) as s:
                ctx = ad._Ctx(email, client, authz, rec, ntlm)  # noqa: SLF001
                try:
                    info = ad._post_pox(ctx, autodiscover_url, mapi=True)  # noqa: SLF001
                except ad._Failed as exc:  # noqa: SLF001
                    s.fail(exc.detail, exc.hint)
                if not info.get("mapi_url"):
                    s.fail(
                        N_("Autodiscover returned no mapiHttp protocol section"),
                        N_(
                            "MAPI over HTTP is disabled for this mailbox or organisation "
                            "(Set-CASMailbox -MapiHttpEnabled / Set-OrganizationConfig)."
                        ),
                    )
                url = info["mapi_url"]
                user_dn = info.get("legacy_dn", "")
                s.detail = ctx.signed_in(f"MailStore {url}")
        rec.result.target = url
        tls_steps(rec, url, ca_file=ca_file, timeout=timeout, allow_link_local=allow_link_local,
                  resolver=resolver, client=client)  # fmt: skip

        with rec.step(CHALLENGE, fatal=False, hints=http_hints) as s:
            resp = client.request("POST", url, headers=_headers("PING", None), body=b"")
            schemes = [v.split(" ", 1)[0] for v in resp.all("WWW-Authenticate")]
            if resp.status != 401:
                s.fail(
                    N_("expected 401, got HTTP %(status)s", status=resp.status),
                    N_(
                        "The endpoint must demand authentication; an anonymous 200 means it is "
                        "published without authentication."
                    ),
                )
            s.detail = N_("401 with WWW-Authenticate: %(schemes)s",
                          schemes=", ".join(schemes) or N_("none"))  # fmt: skip
            if ntlm and "ntlm" not in {scheme.lower() for scheme in schemes}:
                s.fail(N_("the server does not offer NTLM (it offers: %(schemes)s)",
                          schemes=", ".join(schemes) or N_("none")),
                       NTLM_NOT_OFFERED_HINT)  # fmt: skip

        with rec.step(PING, hints=http_hints) as s:
            tlsmod.withhold_credential_unless_safe(s, "tls", True, rec)
            resp = client.request("POST", url, headers=_headers("PING", authz), body=b"",
                                  ntlm=ntlm)  # fmt: skip
            _check(s, "PING", resp, ntlm)
            s.detail = N_("X-ResponseCode 0 (Success), server %(server)s",
                          server=resp.header("X-ServerApplication"))  # fmt: skip
            if ntlm:
                s.detail = N_("signed in with NTLM; %(result)s", result=s.detail)

        cookies: dict[str, str] = {}
        with rec.step(CONNECT, hints=http_hints) as s:
            body = connect_body(user_dn or f"/o=ExchangeInteropPortal/cn=Recipients/cn={email}")
            resp = client.request("POST", url, headers=_headers("Connect", authz), body=body,
                                  ntlm=ntlm)  # fmt: skip
            _check(s, "Connect", resp, ntlm)
            for header in resp.all("Set-Cookie"):
                cookies.update({k: m.value for k, m in SimpleCookie(header).items()})
            s.detail = N_("X-ResponseCode 0 (Success); session cookies: %(cookies)s",
                          cookies=", ".join(cookies) or "-")  # fmt: skip

        with rec.step(DISCONNECT, fatal=False, hints=http_hints) as s:
            resp = client.request(
                "POST", url, headers=_headers("Disconnect", authz, cookies), body=b"\0\0\0\0",
                ntlm=ntlm,
            )  # fmt: skip
            _check(s, "Disconnect", resp, ntlm)
            s.detail = N_("X-ResponseCode 0 (Success)")
    return rec.result
