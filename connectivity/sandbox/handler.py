"""The HTTPS request handler: routing of EWS, Autodiscover, MAPI/HTTP, the OAuth token
endpoint/JWKS and the admin API to the sandbox."""

from __future__ import annotations

import json
import logging
import random
import re
import secrets
import ssl
import time
import uuid
from http.cookies import SimpleCookie
from http.server import BaseHTTPRequestHandler
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit

from .auth import (
    AuthError,
    Principal,
    TokenRequestError,
)
from .ntlm import SCHEMES, NtlmAcceptor
from .soap import EWSError, fault
from .state import Sandbox

log = logging.getLogger("connectivity.sandbox")

MAX_BODY = 64 * 1024 * 1024


class BodyError(Exception):
    def __init__(self, status: int):
        super().__init__(status)
        self.status = status


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "Microsoft-IIS/10.0"
    sys_version = ""
    ntlm: NtlmAcceptor | None = None  # per connection: NTLM authenticates the connection
    timeout = 120  # idle keep-alive connections are closed after this

    @property
    def sb(self) -> Sandbox:
        return self.server.sandbox  # type: ignore[attr-defined]

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002
        log.debug("%s %s", self.address_string(), format % args)

    # --- response helpers -----------------------------------------------------------------------
    def reply(
        self,
        status: int,
        body: bytes = b"",
        content_type: str = "text/xml; charset=utf-8",
        headers=(),
    ) -> None:
        self.send_response(status)
        if body or status not in (204, 304):
            self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self.send_header("request-id", str(uuid.uuid4()))
        self.send_header("X-FEServer", "SANDBOX-FE01")
        for name, value in headers:
            self.send_header(name, value)
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    def reply_json(self, status: int, data: Any, headers=()) -> None:
        self.reply(status, json.dumps(data).encode(), "application/json; charset=utf-8", headers)

    def body(self) -> bytes:
        """The request body; BodyError(status) when its length is unusable or too large."""
        raw = (self.headers.get("Content-Length") or "0").strip()
        if not raw.isdigit():
            raise BodyError(400)
        length = int(raw)
        if length > MAX_BODY:
            raise BodyError(413)  # IIS refuses bodies over its request limit the same way
        return self.rfile.read(length) if length else b""

    # --- routing --------------------------------------------------------------------------------
    def do_GET(self) -> None:
        self.route()

    def do_POST(self) -> None:
        self.route()

    def do_HEAD(self) -> None:
        self.route()

    def route(self) -> None:
        url = urlsplit(self.path)
        path = url.path.rstrip("/").lower() or "/"
        try:
            body = self.body()
        except BodyError as e:
            self.close_connection = True
            return self.reply(e.status, b"", "text/html")
        try:
            if path == "/ews/exchange.asmx":
                return self.ews(body)
            if path.startswith("/sandbox/admin"):
                return self.admin(url.path.rstrip("/")[len("/sandbox/admin") :], body)
            if path == "/autodiscover/autodiscover.svc":
                return self.autodiscover_soap(body)
            if path == "/autodiscover/autodiscover.xml":
                return self.autodiscover_pox(body)
            if path.startswith("/autodiscover/autodiscover.json"):
                return self.autodiscover_json(url)
            if path in ("/mapi/emsmdb", "/mapi/nspi"):
                return self.mapi(path.rsplit("/", 1)[1])
            match = re.fullmatch(r"/([^/]+)/oauth2/v2\.0/token", url.path.rstrip("/"))
            if match and self.command == "POST":
                return self.token(match.group(1), body)
            match = re.fullmatch(r"/([^/]+)/discovery/v2\.0/keys", url.path.rstrip("/"))
            if match:
                return self.reply_json(200, self.sb.tokens.jwks())
            if path.endswith("/v2.0/.well-known/openid-configuration"):
                return self.reply_json(200, self.openid_configuration())
            if self.command == "HEAD" or path == "/":
                return self.reply(200, b"", "text/html")
            return self.reply(404, b"Not Found", "text/plain")
        except (ConnectionError, ssl.SSLError) as exc:
            # The client went away mid-request (a worker killed, a timeout): nobody to answer.
            log.info("client left during %s %s: %r", self.command, url.path, exc)
            self.close_connection = True
            return None
        except Exception:
            log.exception("unhandled error on %s %s", self.command, url.path)
            if path == "/ews/exchange.asmx":
                return self.reply(500, fault(EWSError("ErrorInternalServerError")))
            self.reply(500, b"Internal Server Error", "text/plain")

    def auth_or_401(self) -> Principal | None:
        scheme, _, token = self.headers.get("Authorization", "").partition(" ")
        windows = self.sb.knobs.windows_auth
        try:
            if scheme in SCHEMES and token:
                if not windows:  # IIS without Windows authentication: NTLM is not offered
                    raise AuthError(401, "Windows authentication is disabled.", error="")
                return self.ntlm_step(token)
            if not scheme and windows and self.ntlm is not None and self.ntlm.principal:
                return self.ntlm.principal  # NTLM authenticated this connection earlier
            return self.sb.authenticate(self.headers)
        except AuthError as e:
            self.sb.count("auth_failures")
            log.info("refused %s: %s", self.path, e.reason)
            self.reply(e.status, b"", "text/html", self.sb.unauthorized_headers(e))
            return None

    def ntlm_step(self, token: str) -> Principal | None:
        """One NTLM leg; answers the 401 carrying the challenge itself (then returns None)."""
        if self.ntlm is None:
            self.ntlm = NtlmAcceptor(self.sb.store, self.sb.domain)
        challenge, principal = self.ntlm.step(token)
        if challenge is not None:
            self.reply(401, b"", "text/html", [("WWW-Authenticate", f"NTLM {challenge}")])
        else:
            self.sb.count("ntlm_logons")
        return principal

    # --- endpoints --------------------------------------------------------------------------------
    def ews(self, body: bytes) -> None:
        if self.command != "POST":
            return self.reply(405, b"", "text/html", [("Allow", "POST")])
        principal = self.auth_or_401()
        if principal is None:
            return None
        sb = self.sb
        sb.count("ews_requests")
        if not sb.acquire(principal.key):
            err = EWSError("ErrorServerBusy", back_off_ms=sb.knobs.backoff_ms)
            return self.reply(500, fault(err))
        try:
            if sb.knobs.latency_ms:
                time.sleep(sb.knobs.latency_ms / 1000)
            if sb.knobs.failure_rate and random.random() < sb.knobs.failure_rate:
                sb.count("injected_failures")
                if random.random() < 0.5:
                    err = EWSError("ErrorServerBusy", back_off_ms=sb.knobs.backoff_ms)
                    return self.reply(500, fault(err))
                page = b"<html><body><h1>Server Error in '/EWS' Application.</h1></body></html>"
                return self.reply(500, page, "text/html")
            try:
                status, payload = sb.ews.handle(body, principal)
            except AuthError as e:
                log.info("EWS refused by policy: %s", e.reason)
                return self.reply(e.status, e.reason.encode(), "text/plain")
            return self.reply(status, payload)
        finally:
            sb.release(principal.key)

    def token(self, tenant: str, body: bytes) -> None:
        form = {k: v[0] for k, v in parse_qs(body.decode(errors="replace")).items()}
        try:
            data = self.sb.tokens.token_request(tenant, form)
        except TokenRequestError as e:
            return self.reply_json(
                e.status,
                {
                    "error": e.error,
                    "error_description": e.description,
                    "error_codes": [int(re.sub(r"\D", "", e.description.split(":")[0]) or 0)],
                    "timestamp": time.strftime("%Y-%m-%d %H:%M:%SZ", time.gmtime()),
                    "trace_id": str(uuid.uuid4()),
                    "correlation_id": str(uuid.uuid4()),
                },
            )
        return self.reply_json(200, data, [("Cache-Control", "no-store")])

    def openid_configuration(self) -> dict[str, Any]:
        base = f"{self.sb.base_url}/{self.sb.tenant_id}"
        return {
            "issuer": self.sb.tokens.issuer,
            "token_endpoint": f"{base}/oauth2/v2.0/token",
            "jwks_uri": f"{base}/discovery/v2.0/keys",
            "token_endpoint_auth_methods_supported": ["client_secret_post"],
            "id_token_signing_alg_values_supported": ["RS256"],
        }

    def autodiscover_soap(self, body: bytes) -> None:
        if self.auth_or_401() is None:
            return None
        return self.reply(200, self.sb.autodiscover.soap(body))

    def autodiscover_pox(self, body: bytes) -> None:
        if self.command != "POST":
            return self.reply(405, b"", "text/html", [("Allow", "POST")])
        if self.auth_or_401() is None:
            return None
        try:
            capability = int(self.headers.get("X-MapiHttpCapability") or 0)
        except ValueError:
            capability = 0
        return self.reply(200, self.sb.autodiscover.pox(body, capability))

    def autodiscover_json(self, url) -> None:
        match = re.fullmatch(
            r"/autodiscover/autodiscover\.json/v1\.0/([^/]+)", url.path, flags=re.IGNORECASE
        )
        if not match:
            return self.reply_json(
                400,
                {"ErrorCode": "InvalidRequest", "ErrorMessage": "Expected /v1.0/{emailAddress}."},
            )
        protocol = parse_qs(url.query).get("Protocol", [""])[0]
        status, data = self.sb.autodiscover.json_v2(unquote(match.group(1)), protocol)
        return self.reply_json(status, data)

    def mapi(self, endpoint: str) -> None:
        principal = self.auth_or_401()
        if principal is None:
            return None
        cookies = {}
        for header in self.headers.get_all("Cookie") or []:
            cookies.update({k: v.value for k, v in SimpleCookie(header).items()})
        status, headers, payload = self.sb.mapi.handle(
            endpoint, principal.key, self.command, self.headers, cookies
        )
        content_type = headers.pop("Content-Type")
        return self.reply(status, payload, content_type, list(headers.items()))

    def admin(self, sub_path: str, body: bytes) -> None:
        from .admin import handle_admin

        token = self.headers.get("Authorization", "").partition(" ")[2].strip()
        if not secrets.compare_digest(token.encode(), self.sb.admin_token.encode()):
            return self.reply_json(401, {"error": "admin token required"})
        try:
            data = json.loads(body) if body else {}
            status, result = handle_admin(self.sb, self.command, sub_path, data)
        except (ValueError, KeyError, TypeError) as e:
            return self.reply_json(400, {"error": str(e)})
        return self.reply_json(status, result)
