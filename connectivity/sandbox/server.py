"""HTTPS plumbing of the sandbox and the in-process starter `SandboxServer`.

One TLS port serves EWS, Autodiscover, MAPI/HTTP, the OAuth token endpoint/JWKS and the admin
API; the SMTP submission server listens on a second port (see smtp.py).
"""

from __future__ import annotations

import json
import logging
import random
import re
import secrets
import ssl
import threading
import time
import uuid
from dataclasses import asdict, dataclass
from http.cookies import SimpleCookie
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit

from .auth import (
    EXO_RESOURCE_APP_ID,
    AuthError,
    Principal,
    TokenRequestError,
    TokenService,
    check_basic,
)
from .autodiscover import Autodiscover
from .certs import ensure_tls
from .ews import EWSService
from .items import seed_rows
from .mapi import MapiSessions
from .soap import EWSError, fault
from .store import Store

log = logging.getLogger("connectivity.sandbox")

FULL_APP = "sandbox-full-access"
LIMITED_APP = "sandbox-limited"
MAX_BODY = 64 * 1024 * 1024


@dataclass
class Knobs:
    latency_ms: int = 0
    max_concurrency: int = 0  # per application / account; 0 = unlimited
    failure_rate: float = 0.0
    backoff_ms: int = 500  # BackOffMilliseconds announced with ErrorServerBusy

    def update(self, values: dict[str, Any]) -> None:
        for key, value in values.items():
            if key not in self.__dataclass_fields__:
                raise ValueError(f"unknown knob {key!r}")
            setattr(self, key, type(getattr(self, key))(value))
        if not 0.0 <= self.failure_rate <= 1.0:
            raise ValueError("failure_rate must be between 0 and 1")


class Sandbox:
    """State and request logic, independent of sockets."""

    def __init__(self, data_dir: Path, knobs: Knobs, domain: str = "sandbox.test"):
        self.data_dir = Path(data_dir)
        self.data_dir.mkdir(parents=True, exist_ok=True)
        self.store = Store(self.data_dir / "sandbox.sqlite3")
        self.domain = self.store.get_meta("domain") or domain
        self.tls = ensure_tls(self.data_dir, self.domain)
        self.knobs = knobs
        self.base_url = ""  # set once listening
        self.stats = {"ews_requests": 0, "throttled": 0, "injected_failures": 0, "auth_failures": 0}
        self._stats_lock = threading.Lock()
        self._inflight: dict[str, int] = {}
        self._bootstrap_tenant()
        self.tokens = TokenService(self.store, self.tls.signing_key_file, self.tenant_id, "")
        self.ews = EWSService(self.store)
        self.mapi = MapiSessions()
        self.autodiscover: Autodiscover | None = None

    # --- bootstrap (idempotent) -----------------------------------------------------------------
    def _bootstrap_tenant(self) -> None:
        if self.store.get_meta("tenant_id") is None:
            self.store.set_meta("tenant_id", str(uuid.uuid4()))
            self.store.set_meta("domain", self.domain)
            self.store.set_meta("admin_token", secrets.token_urlsafe(24))
        self.tenant_id = self.store.get_meta("tenant_id")
        self.admin_token = self.store.get_meta("admin_token")
        for name, scope in ((FULL_APP, "all"), (LIMITED_APP, "none")):
            if self.store.find_app_by_name(name) is None:
                self.create_app(name, grant_scope=scope)

    def create_app(
        self,
        name: str,
        client_id: str | None = None,
        client_secret: str | None = None,
        grant_scope: str = "none",
        targets=(),
    ) -> dict[str, str]:
        client_id = client_id or str(uuid.uuid4())
        client_secret = client_secret or secrets.token_urlsafe(24)
        self.store.create_app(client_id, client_secret, name)
        self.store.set_grant(client_id, grant_scope, targets)
        return {"client_id": client_id, "client_secret": client_secret, "name": name}

    def create_mailbox(
        self, address: str, password: str | None = None, display_name: str | None = None, groups=()
    ) -> dict[str, str]:
        password = password or secrets.token_urlsafe(12)
        self.store.create_mailbox(address, password, display_name, list(groups))
        return {"address": address.lower(), "password": password}

    def seed(self, mailboxes: int, items: int) -> list[dict[str, str]]:
        """Ensure user1..userN exist and each holds at least `items` seeded Inbox messages."""
        for i in range(1, mailboxes + 1):
            address = f"user{i}@{self.domain}"
            if self.store.get_mailbox(address) is None:
                self.create_mailbox(address, display_name=f"Sandbox User {i}")
            inbox = self.store.distinguished_folder(address, "inbox")
            have = sum(
                1
                for r in self.store.folder_items(inbox["id"])
                if (r["subject"] or "").startswith("Seed message ")
            )
            if items > have:
                seed_rows(self.store, address, items - have, start_index=have)
        return self.seeded_mailboxes(mailboxes)

    def seeded_mailboxes(self, count: int | None = None) -> list[dict[str, str]]:
        rows = [
            r
            for r in self.store.list_mailboxes()
            if re.fullmatch(rf"user\d+@{re.escape(self.domain)}", r["address"])
        ]
        rows.sort(key=lambda r: int(r["address"][4:].split("@")[0]))
        if count is not None:
            rows = rows[:count]
        return [{"address": r["address"], "password": r["password"]} for r in rows]

    # --- request plumbing -----------------------------------------------------------------------
    def count(self, key: str) -> None:
        with self._stats_lock:
            self.stats[key] += 1

    def authenticate(self, headers) -> Principal:
        value = headers.get("Authorization", "")
        scheme, _, credentials = value.partition(" ")
        if scheme.lower() == "bearer" and credentials:
            return self.tokens.validate(credentials.strip())
        if scheme.lower() == "basic" and credentials:
            return check_basic(self.store, credentials)
        raise AuthError(401, "No credentials were supplied.", error="")

    def acquire(self, key: str) -> bool:
        limit = self.knobs.max_concurrency
        with self._stats_lock:
            if limit and self._inflight.get(key, 0) >= limit:
                self.stats["throttled"] += 1
                return False
            self._inflight[key] = self._inflight.get(key, 0) + 1
            return True

    def release(self, key: str) -> None:
        with self._stats_lock:
            self._inflight[key] -= 1

    def unauthorized_headers(self, err: AuthError) -> list[tuple[str, str]]:
        bearer = (
            f'Bearer client_id="{EXO_RESOURCE_APP_ID}", '
            f'trusted_issuers="00000001-0000-0000-c000-000000000000@{self.tenant_id}", '
            'token_types="app_asserted_user_v1 service_asserted_app_v1", '
            f'authorization_uri="{self.base_url}/{self.tenant_id}/oauth2/authorize"'
        )
        if err.error:
            bearer += f', error="{err.error}"'
        headers = [("WWW-Authenticate", bearer), ("WWW-Authenticate", 'Basic Realm=""')]
        if err.error:
            headers.append(
                ("x-ms-diagnostics", f'2000001;reason="{err.reason}";error_category="{err.error}"')
            )
        return headers


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "Microsoft-IIS/10.0"
    sys_version = ""
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
        length = int(self.headers.get("Content-Length") or 0)
        if length > MAX_BODY:
            raise ValueError("request too large")
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
        except ValueError:
            self.close_connection = True
            return self.reply(413, b"")
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
        except Exception:
            log.exception("unhandled error on %s %s", self.command, url.path)
            self.reply(500, b"Internal Server Error", "text/plain")

    def auth_or_401(self) -> Principal | None:
        try:
            return self.sb.authenticate(self.headers)
        except AuthError as e:
            self.sb.count("auth_failures")
            log.info("refused %s: %s", self.path, e.reason)
            self.reply(e.status, b"", "text/html", self.sb.unauthorized_headers(e))
            return None

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


class _TLSServer(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 128


class SandboxServer:
    """In-process sandbox: ``with SandboxServer(data_dir, port=0) as sb: sb.info``.

    Starts the HTTPS server (EWS, Autodiscover, MAPI, token endpoint, admin API) and the SMTP
    submission server in background threads. Safe to restart on the same data_dir.
    """

    def __init__(
        self,
        data_dir: str | Path,
        host: str = "127.0.0.1",
        port: int = 0,
        *,
        smtp_port: int = 0,
        latency_ms: int = 0,
        max_concurrency: int = 0,
        failure_rate: float = 0.0,
        backoff_ms: int = 500,
        seed_mailboxes: int = 3,
        seed_items: int = 0,
        domain: str = "sandbox.test",
        smtp: bool = True,
        dns_port: int = 0,
        imap_port: int = 0,
        pop3_port: int = 0,
    ):
        self.host = host
        self.port = port
        self.smtp_port = smtp_port
        self.knobs = Knobs(latency_ms, max_concurrency, failure_rate, backoff_ms)
        self.sandbox = Sandbox(Path(data_dir), self.knobs, domain)
        self.seed_mailboxes = seed_mailboxes
        self.seed_items = seed_items
        self.smtp_enabled = smtp
        self._httpd: _TLSServer | None = None
        self._thread: threading.Thread | None = None
        self._smtp = None
        self._mail_ports = {"dns_port": dns_port, "imap_port": imap_port, "pop3_port": pop3_port}
        self._mail = None

    def start(self) -> SandboxServer:
        sb = self.sandbox
        sb.seed(self.seed_mailboxes, self.seed_items)
        ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        ctx.load_cert_chain(sb.tls.cert_file, sb.tls.key_file)
        httpd = _TLSServer((self.host, self.port), Handler)
        httpd.socket = ctx.wrap_socket(
            httpd.socket, server_side=True, do_handshake_on_connect=False
        )
        httpd.sandbox = sb  # type: ignore[attr-defined]
        self.port = httpd.server_address[1]
        host = f"[{self.host}]" if ":" in self.host else self.host
        sb.base_url = f"https://{host}:{self.port}"
        sb.tokens.issuer_base = sb.base_url
        sb.autodiscover = Autodiscover(sb.store, sb.base_url, sb.domain)
        self._httpd = httpd
        self._thread = threading.Thread(
            target=httpd.serve_forever,
            kwargs={"poll_interval": 0.2},
            name="sandbox-https",
            daemon=True,
        )
        self._thread.start()
        if self.smtp_enabled:
            from .smtp import SMTPServer

            self._smtp = SMTPServer(sb, self.host, self.smtp_port)
            self._smtp.start()
            self.smtp_port = self._smtp.port
        from .services import MailServices

        self._mail = MailServices(sb, self.host, self.port, **self._mail_ports).start()
        log.info("sandbox listening on %s (data %s)", sb.base_url, sb.data_dir)
        return self

    def stop(self) -> None:
        if self._mail is not None:
            self._mail.stop()
            self._mail = None
        if self._smtp is not None:
            self._smtp.stop()
            self._smtp = None
        if self._httpd is not None:
            self._httpd.shutdown()
            self._httpd.server_close()
            self._httpd = None
        self.sandbox.store.close()

    def __enter__(self) -> SandboxServer:
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()

    @property
    def info(self) -> dict[str, Any]:
        """The startup JSON (also printed by ``python -m connectivity.sandbox``)."""
        sb = self.sandbox
        full = sb.store.find_app_by_name(FULL_APP)
        limited = sb.store.find_app_by_name(LIMITED_APP)
        return {
            "ews_url": f"{sb.base_url}/EWS/Exchange.asmx",
            "autodiscover_url": f"{sb.base_url}/autodiscover/autodiscover.svc",
            "autodiscover_pox_url": f"{sb.base_url}/autodiscover/autodiscover.xml",
            "autodiscover_json_url": f"{sb.base_url}/autodiscover/autodiscover.json/v1.0",
            "token_url": f"{sb.base_url}/{sb.tenant_id}/oauth2/v2.0/token",
            "jwks_url": f"{sb.base_url}/{sb.tenant_id}/discovery/v2.0/keys",
            "mapi_url": f"{sb.base_url}/mapi/emsmdb/",
            "mapi_nspi_url": f"{sb.base_url}/mapi/nspi/",
            "smtp_host": self.host,
            "smtp_port": self.smtp_port if self._smtp else None,
            **(self._mail.ports if self._mail else dict.fromkeys(self._mail_ports)),
            "ca_file": str(sb.tls.ca_file),
            "tenant_id": sb.tenant_id,
            "domain": sb.domain,
            "scope": "https://outlook.office365.com/.default",
            "app_client_id": full["client_id"],
            "app_client_secret": full["secret"],
            "limited_client_id": limited["client_id"],
            "limited_client_secret": limited["secret"],
            "mailboxes": sb.seeded_mailboxes(self.seed_mailboxes),
            "admin_url": f"{sb.base_url}/sandbox/admin",
            "admin_token": sb.admin_token,
            "data_dir": str(sb.data_dir),
            "knobs": asdict(self.knobs),
        }

    def admin_client(self, timeout: float = 10.0):
        from .client import AdminClient

        info = self.info
        return AdminClient(info["admin_url"], info["admin_token"], info["ca_file"], timeout)
