"""Autodiscover probe: POX (autodiscover.xml) in the Remote Connectivity Analyzer's order, then
SOAP GetUserSettings (autodiscover.svc) and JSON v2 (autodiscover.json) on the host that answered.

Order (MS-OXDISCO): 1. https://<domain>/autodiscover/autodiscover.xml, 2. https://autodiscover.
<domain>/..., 3. GET http://autodiscover.<domain>/... expecting a redirect to an HTTPS URL (no
credentials sent over HTTP), 4. DNS SRV _autodiscover._tcp.<domain>.  The first that returns
settings wins; the remaining candidates are skipped.  Every redirect hop is shown.
"""

from __future__ import annotations

import json
from urllib.parse import quote, urlsplit

import dns.resolver
from defusedxml import ElementTree

from connectivity.i18n import N_
from connectivity.netguard import Resolver
from connectivity.probes import dns as dnsprobe
from connectivity.probes.core import (
    InvalidInput,
    OnStep,
    ProbeResult,
    Recorder,
    Status,
    reject_crlf,
    validate_host,
)
from connectivity.probes.http import NTLM_REFUSED_HINT, Client, http_hints, sign_in

POX_REQUEST_NS = "http://schemas.microsoft.com/exchange/autodiscover/outlook/requestschema/2006"
POX_RESPONSE_SCHEMA = (
    "http://schemas.microsoft.com/exchange/autodiscover/outlook/responseschema/2006a"
)
ANS = "http://schemas.microsoft.com/exchange/2010/Autodiscover"

ROOT = N_("Autodiscover: root domain")
HOST = N_("Autodiscover: autodiscover. host")
REDIRECT = N_("Autodiscover: HTTP redirect")
SRV = N_("Autodiscover: SRV record")
DIRECT = N_("Autodiscover: given URL")
SOAP = "Autodiscover SOAP (GetUserSettings)"
JSON_V2 = "Autodiscover JSON v2 (Protocol=Ews)"
RESULT = N_("Autodiscover result")
CANDIDATES = [ROOT, HOST, REDIRECT, SRV]

PATH_POX = "/autodiscover/autodiscover.xml"
PATH_SOAP = "/autodiscover/autodiscover.svc"
PATH_JSON = "/autodiscover/autodiscover.json/v1.0/"

AUTH_HINT = N_(
    "The server refused the credential: check user name and password, or use an OAuth token. "
    "Exchange Online no longer accepts Basic authentication for Autodiscover."
)


class _Failed(Exception):
    def __init__(self, detail: str, hint: str) -> None:
        super().__init__(detail)
        self.detail, self.hint = detail, hint


def pox_request(email: str) -> bytes:
    return (
        '<?xml version="1.0" encoding="utf-8"?>'
        f'<Autodiscover xmlns="{POX_REQUEST_NS}"><Request>'
        f"<EMailAddress>{_xml(email)}</EMailAddress>"
        f"<AcceptableResponseSchema>{POX_RESPONSE_SCHEMA}</AcceptableResponseSchema>"
        "</Request></Autodiscover>"
    ).encode()


def soap_request(email: str, url: str) -> bytes:
    settings = "".join(
        f"<a:Setting>{s}</a:Setting>"
        for s in ("UserDisplayName", "ExternalEwsUrl", "InternalEwsUrl", "CasVersion")
    )
    return (
        '<?xml version="1.0" encoding="utf-8"?>'
        '<soap:Envelope xmlns:soap="http://schemas.xmlsoap.org/soap/envelope/" '
        f'xmlns:a="{ANS}" xmlns:wsa="http://www.w3.org/2005/08/addressing">'
        "<soap:Header><a:RequestedServerVersion>Exchange2013</a:RequestedServerVersion>"
        f"<wsa:Action>{ANS}/Autodiscover/GetUserSettings</wsa:Action>"
        f"<wsa:To>{_xml(url)}</wsa:To></soap:Header>"
        "<soap:Body><a:GetUserSettingsRequestMessage><a:Request>"
        f"<a:Users><a:User><a:Mailbox>{_xml(email)}</a:Mailbox></a:User></a:Users>"
        f"<a:RequestedSettings>{settings}</a:RequestedSettings>"
        "</a:Request></a:GetUserSettingsRequestMessage></soap:Body></soap:Envelope>"
    ).encode()


def _xml(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def _local(tag: str) -> str:
    return tag.rsplit("}", 1)[-1]


def parse_pox(body: bytes) -> dict:
    """EwsUrl, MAPI MailStore URL, error or redirect from a POX response."""
    root = ElementTree.fromstring(body)
    out: dict = {}
    for el in root.iter():
        name = _local(el.tag)
        if name == "ErrorCode":
            out["error_code"] = (el.text or "").strip()
        elif name == "Message" and "error_message" not in out:
            out["error_message"] = (el.text or "").strip()
        elif name == "EwsUrl" and "ews_url" not in out:
            out["ews_url"] = (el.text or "").strip()
        elif name == "LegacyDN" and "legacy_dn" not in out:
            out["legacy_dn"] = (el.text or "").strip()
        elif name == "Action":
            out["action"] = (el.text or "").strip()
        elif name in ("RedirectUrl", "RedirectAddr"):
            out[name.lower()] = (el.text or "").strip()
        elif name == "Protocol" and el.get("Type") == "mapiHttp":
            for sub in el.iter():
                if _local(sub.tag) == "ExternalUrl" and "mapi_url" not in out:
                    out["mapi_url"] = (sub.text or "").strip()
    return out


class _Ctx:
    def __init__(self, email, client, auth_header, rec, ntlm=None) -> None:
        self.email, self.client, self.auth, self.rec = email, client, auth_header, rec
        self.ntlm = ntlm  # an Ntlm credential: each request does its own handshake

    @property
    def refused_hint(self) -> str:
        return NTLM_REFUSED_HINT if self.ntlm else AUTH_HINT

    def signed_in(self, text: str) -> str:
        """``text``, saying NTLM signed in (Basic and tokens are the default, left unsaid)."""
        return N_("%(text)s, signed in with NTLM", text=text) if self.ntlm else text

    def headers(self, content_type: str = "text/xml; charset=utf-8") -> dict[str, str]:
        h = {"Content-Type": content_type, "User-Agent": "ExchangeInteropPortal-Probe/1"}
        if self.auth:
            h["Authorization"] = self.auth
        return h


def _post_pox(ctx: _Ctx, url: str, chain: list[str] | None = None, *, mapi: bool = True):
    if urlsplit(url).scheme != "https":
        raise _Failed(N_("refusing to send credentials to %(url)s", url=url),
                      N_("Autodiscover must use HTTPS."))  # fmt: skip
    headers = ctx.headers()
    if mapi:
        headers["X-MapiHttpCapability"] = "1"
    resp = ctx.client.request(
        "POST", url, headers=headers, body=pox_request(ctx.email), ntlm=ctx.ntlm
    )
    hops = " → ".join([*(chain or []), f"POST {url}: {resp.status}"])
    if resp.status == 401:
        raise _Failed(N_("%(hops)s Unauthorized", hops=hops), ctx.refused_hint)
    if resp.status != 200:
        raise _Failed(f"{hops}: HTTP {resp.status} {resp.reason}", _status_hint(resp.status))
    try:
        info = parse_pox(resp.body)
    except ElementTree.ParseError as exc:
        raise _Failed(N_("%(hops)s: response is not XML (%(error)s)", hops=hops, error=exc),
                      N_("The URL is not Autodiscover."))  # fmt: skip
    if info.get("error_code"):
        raise _Failed(
            N_(
                "%(hops)s: Autodiscover error %(code)s %(message)s",
                hops=hops,
                code=info["error_code"],
                message=info.get("error_message", ""),
            ),
            N_("Error 500 means the address is unknown to this server; 600 an invalid request."),
        )
    if info.get("action") in ("redirectAddr", "redirectUrl"):
        target = info.get("redirecturl") or info.get("redirectaddr")
        raise _Failed(
            N_(
                "%(hops)s: Autodiscover redirects (%(action)s) to %(target)s",
                hops=hops,
                action=info["action"],
                target=target,
            ),
            N_("Follow the redirect: run the test again with the address or URL it names."),
        )
    if not info.get("ews_url"):
        raise _Failed(N_("%(hops)s: no EwsUrl in the response", hops=hops),
                      N_("Check the Exchange virtual dirs."))  # fmt: skip
    info["hops"] = ctx.signed_in(hops)
    info["url"] = url
    return info


def _status_hint(status: int) -> str:
    if status == 404:
        return N_(
            "No Autodiscover here: the host answers but has no /autodiscover virtual directory."
        )
    if status in (403, 405):
        return N_("The virtual directory exists but refuses the request; check IIS/proxy rules.")
    if status >= 500:
        return N_("Server error: check the Autodiscover application pool and server logs.")
    return N_("Unexpected HTTP status for Autodiscover.")


def _explain(exc: BaseException) -> tuple[str, str]:
    if isinstance(exc, _Failed):
        return exc.detail, exc.hint
    from connectivity.probes.core import explain_exception

    return http_hints(exc) or explain_exception(exc)


def probe_autodiscover(
    email: str,
    *,
    url: str | None = None,
    domain: str | None = None,
    username: str | None = None,
    password: str | None = None,
    token: str | None = None,
    ca_file: str | None = None,
    timeout: float = 10.0,
    allow_link_local: bool = False,
    resolver: Resolver | None = None,
    nameserver: str | None = None,
    dns_port: int = 53,
    https_port: int = 443,
    http_port: int = 80,
    on_step: OnStep | None = None,
    auth: str = "basic",
) -> ProbeResult:
    """Find the EWS (and MAPI) URL for ``email``. ``https_port``/``http_port`` exist for tests.

    ``username`` + ``password`` go out as ``auth`` says: ``"basic"`` or ``"ntlm"``."""
    reject_crlf("email", email)
    if "@" not in email or any(c in email for c in " <>\"'"):
        raise InvalidInput(N_("email must be a plain address like user@example.com"))
    domain = (domain or email.rsplit("@", 1)[1]).lower()
    validate_host(domain)
    for label, value in (("username", username), ("password", password), ("token", token)):
        reject_crlf(label, value)
    if url and urlsplit(url).scheme != "https":
        raise InvalidInput(N_("the Autodiscover URL must be https://"))
    header, ntlm = sign_in(username, password, token, auth)
    plan = [DIRECT] if url else list(CANDIDATES)
    plan += [RESULT, SOAP, JSON_V2]
    secrets = [password, token, header]
    rec = Recorder("autodiscover", email, plan, on_step, secrets, timeout=timeout)
    client = Client(
        ca_file=ca_file, timeout=timeout, allow_link_local=allow_link_local, resolver=resolver
    )
    ctx = _Ctx(email, client, header, rec, ntlm)
    found: dict | None = None

    def attempt(name: str, fn, *, only: bool = False) -> None:
        nonlocal found
        if found is not None:
            rec.record(name, Status.SKIP, N_("not needed: found at %(url)s", url=found["url"]))
            return
        with rec.step(name, fatal=False) as s:
            try:
                found = fn()
            except Exception as exc:
                detail, hint = _explain(exc)
                if only:
                    s.fail(detail, hint)
                s.warn(detail, hint)  # a later candidate may still succeed
                return
            s.detail = found["hops"]

    with rec:
        if url:
            attempt(DIRECT, lambda: _post_pox(ctx, url), only=True)
        else:
            sfx = f":{https_port}" if https_port != 443 else ""
            attempt(ROOT, lambda: _post_pox(ctx, f"https://{domain}{sfx}{PATH_POX}"))
            attempt(HOST, lambda: _post_pox(ctx, f"https://autodiscover.{domain}{sfx}{PATH_POX}"))
            attempt(REDIRECT, lambda: _via_redirect(ctx, domain, http_port))
            attempt(
                SRV,
                lambda: _via_srv(ctx, domain, nameserver, dns_port, timeout, allow_link_local),
            )

        with rec.step(RESULT) as s:
            if found is None and url:
                s.fail(N_("Autodiscover failed at %(url)s", url=url), N_("See the step above."))
            if found is None:
                s.fail(
                    N_("Autodiscover failed: no candidate returned settings"),
                    N_(
                        "Publish autodiscover.<domain> (CNAME to autodiscover.outlook.com for "
                        "Exchange Online, or the CAS namespace on-premises) with a valid "
                        "certificate, or an SRV record _autodiscover._tcp.<domain>."
                    ),
                )
            s.detail = f"EWS URL {found['ews_url']}"
            if found.get("mapi_url"):
                s.detail += f"; MAPI URL {found['mapi_url']}"
            rec.context["ews_url"] = found["ews_url"]
        base = found["url"].rsplit("/autodiscover/", 1)[0]

        with rec.step(SOAP, fatal=False, hints=http_hints) as s:
            soap_url = base + PATH_SOAP
            resp = client.request(
                "POST", soap_url, headers=ctx.headers(), body=soap_request(email, soap_url),
                ntlm=ntlm,
            )  # fmt: skip
            if resp.status == 401:
                s.fail(f"POST {soap_url}: 401 Unauthorized", ctx.refused_hint)
            if resp.status != 200:
                s.fail(f"POST {soap_url}: HTTP {resp.status}", _status_hint(resp.status))
            try:
                summary = _soap_summary(resp.body)
            except (_SoapError, ElementTree.ParseError) as exc:
                s.fail(
                    N_("POST %(url)s: GetUserSettings error %(error)s", url=soap_url, error=exc),
                    N_("InvalidUser: the address is unknown; other codes: see the server logs."),
                )
            s.detail = ctx.signed_in(f"POST {soap_url}: {summary}")

        with rec.step(JSON_V2, fatal=False, hints=http_hints) as s:
            json_url = f"{base}{PATH_JSON}{quote(email)}?Protocol=Ews"
            resp = client.request("GET", json_url, headers={"Accept": "application/json"})
            try:
                data = json.loads(resp.body or b"{}")
            except ValueError:
                data = {}
            if resp.status != 200 or "Url" not in data:
                s.fail(
                    f"GET {json_url}: HTTP {resp.status} {data.get('ErrorCode', '')} "
                    f"{data.get('ErrorMessage', '')}".rstrip(),
                    N_(
                        "Autodiscover v2 (used by Outlook and by Microsoft's own tools) is not "
                        "answering for this address."
                    ),
                )
            s.detail = f"GET {json_url}: {data.get('Protocol')} {data['Url']}"
    return rec.result


def _soap_summary(body: bytes) -> str:
    root = ElementTree.fromstring(body)
    errors = [e.text for e in root.iter(f"{{{ANS}}}ErrorCode") if e.text != "NoError"]
    if errors:
        raise _SoapError(", ".join(e or "?" for e in errors))
    settings = {}
    for el in root.iter(f"{{{ANS}}}UserSetting"):
        settings[el.findtext(f"{{{ANS}}}Name")] = el.findtext(f"{{{ANS}}}Value")
    return ", ".join(f"{k}={v}" for k, v in settings.items()) or N_("no settings")


class _SoapError(Exception):
    pass


def _via_redirect(ctx: _Ctx, domain: str, http_port: int) -> dict:
    """GET http://autodiscover.<domain>/... (no credentials) and expect a redirect to HTTPS."""
    sfx = f":{http_port}" if http_port != 80 else ""
    start = f"http://autodiscover.{domain}{sfx}{PATH_POX}"
    resp = ctx.client.request("GET", start, headers={"User-Agent": "ExchangeInteropPortal-Probe"})
    location = resp.header("Location")
    if resp.status not in (301, 302, 307, 308) or not location:
        raise _Failed(
            N_("GET %(url)s: HTTP %(status)s, no redirect", url=start, status=resp.status),
            N_(
                "The HTTP redirect method needs http://autodiscover.<domain>/autodiscover/"
                "autodiscover.xml to answer 302 with an HTTPS Location."
            ),
        )
    if urlsplit(location).scheme != "https":
        raise _Failed(
            N_("GET %(url)s: redirect to non-HTTPS %(location)s", url=start, location=location),
            N_("Redirect to an HTTPS URL only."),
        )
    return _post_pox(ctx, location, [f"GET {start}: {resp.status} → {location}"])


def _via_srv(ctx: _Ctx, domain, nameserver, dns_port, timeout, allow_link_local) -> dict:
    name = f"_autodiscover._tcp.{domain}"
    resolver = dnsprobe.make_resolver(nameserver, dns_port, timeout, allow_link_local)
    try:
        answer = resolver.resolve(name, "SRV", search=False)
    except (dns.resolver.NXDOMAIN, dns.resolver.NoAnswer):
        raise _Failed(
            N_("no SRV record %(name)s", name=name),
            N_(
                "Publish %(name)s SRV 0 0 443 <autodiscover host> if the other methods cannot "
                "work.",
                name=name,
            ),
        )
    best = sorted(answer, key=lambda r: (r.priority, -r.weight))[0]
    target = best.target.to_text(True)
    sfx = f":{best.port}" if best.port != 443 else ""
    return _post_pox(ctx, f"https://{target}{sfx}{PATH_POX}", [f"SRV {name} → {target}"])
