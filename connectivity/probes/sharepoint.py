"""SharePoint OAuth metadata probe: the endpoint Exchange and Lync read for server-to-server trust.

``https://<web application>/_layouts/15/metadata/json/1`` answers anonymously with a JSON
document naming the SharePoint realm and its service name; the issuer Exchange trusts is
``<serviceName>@<realm>``. Steps: resolve, connect, TLS certificate (Analyzer style), fetch,
parse.
"""

from __future__ import annotations

import json
import re
from urllib.parse import urlsplit

from connectivity.i18n import N_
from connectivity.netguard import Resolver
from connectivity.probes.core import (
    InvalidInput,
    OnStep,
    ProbeResult,
    Recorder,
    reject_crlf,
    validate_host,
)
from connectivity.probes.http import Client, http_hints, tls_steps
from connectivity.probes.tcp import CONNECT, RESOLVE
from connectivity.probes.tls import CERT_STEPS, HANDSHAKE

METADATA_PATH = "/_layouts/15/metadata/json/1"
FETCH = N_("Fetch OAuth metadata")
PARSE = N_("Read realm and issuer")
_GUID = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$", re.I)

NOT_METADATA_HINT = N_(
    "Check the web application URL (its root, e.g. https://sharepoint.contoso.com). The "
    "metadata endpoint answers anonymously: a sign-in page or an error page in between (a "
    "reverse proxy, pre-authentication) breaks server-to-server OAuth from Exchange and Lync."
)
NO_REALM_HINT = N_(
    "SharePoint has no OAuth realm yet: run Set-SPAuthenticationRealm and configure the trust "
    "with New-SPTrustedSecurityTokenIssuer (SharePoint Server), then check again."
)


def metadata_url(web_url: str) -> str:
    parts = urlsplit(web_url)
    return f"{parts.scheme}://{parts.netloc}{METADATA_PATH}"


def parse_metadata(body: bytes) -> dict:
    """(realm, issuer, keys) from the metadata document; raises ValueError in words."""
    text = body.decode("utf-8-sig", errors="replace").strip()
    if text[:1] == "<":
        raise ValueError(N_("the server answered with an HTML or XML page, not the JSON "
                            "metadata document"))  # fmt: skip
    try:
        data = json.loads(text)
    except ValueError as exc:
        raise ValueError(N_("the metadata is not valid JSON: %(reason)s", reason=str(exc)))
    if not isinstance(data, dict):
        raise ValueError(N_("the metadata is JSON but not an object"))
    realm = str(data.get("realm") or "")
    service = str(data.get("serviceName") or "")
    if not realm:
        raise LookupError(N_("the metadata names no realm"))
    return {
        "realm": realm,
        "service_name": service,
        "issuer": f"{service}@{realm}" if service else "",
        "keys": len(data.get("keys") or []),
        "realm_is_guid": bool(_GUID.match(realm)),
    }


def probe_sharepoint(
    url: str,
    *,
    ca_file: str | None = None,
    timeout: float = 10.0,
    allow_link_local: bool = False,
    resolver: Resolver | None = None,
    on_step: OnStep | None = None,
) -> ProbeResult:
    """Fetch and read the OAuth metadata of the SharePoint web application at ``url``."""
    reject_crlf("url", url)
    parts = urlsplit(url)
    if parts.scheme != "https" or not parts.hostname:
        raise InvalidInput(N_("the SharePoint web application URL must start with https://"))
    validate_host(parts.hostname)
    target = metadata_url(url)
    plan = [RESOLVE, CONNECT, HANDSHAKE, *CERT_STEPS, FETCH, PARSE]
    rec = Recorder("sharepoint", target, plan, on_step, timeout=timeout)
    client = Client(
        ca_file=ca_file, timeout=timeout, allow_link_local=allow_link_local, resolver=resolver
    )
    with rec:
        tls_steps(rec, target, ca_file=ca_file, timeout=timeout,
                  allow_link_local=allow_link_local, resolver=resolver, client=client)  # fmt: skip
        with rec.step(FETCH, hints=http_hints) as s:
            response = client.request("GET", target, headers={"Accept": "application/json"})
            if response.status != 200:
                s.fail(N_("HTTP %(status)s %(reason)s from %(url)s", status=response.status,
                          reason=response.reason, url=target), NOT_METADATA_HINT)  # fmt: skip
            s.detail = N_("HTTP 200, %(n)s bytes (%(type)s)", n=len(response.body),
                          type=response.header("Content-Type", "-"))  # fmt: skip
        with rec.step(PARSE) as s:
            try:
                info = parse_metadata(response.body)
            except LookupError as exc:
                s.fail(exc.args[0], NO_REALM_HINT)
            except ValueError as exc:
                s.fail(exc.args[0], NOT_METADATA_HINT)
            s.detail = N_("realm %(realm)s, issuer %(issuer)s, %(keys)s signing key(s)",
                          realm=info["realm"], issuer=info["issuer"] or "-",
                          keys=info["keys"])  # fmt: skip
            if not info["realm_is_guid"]:
                s.warn(s.detail, N_("The realm is usually the tenant or farm id (a GUID); check "
                                    "Get-SPAuthenticationRealm."))  # fmt: skip
    return rec.result
