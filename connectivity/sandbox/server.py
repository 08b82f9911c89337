"""HTTPS plumbing of the sandbox and the in-process starter `SandboxServer`.

`Sandbox` (state.py) holds state and policy, `Handler` (handler.py) routes requests.
One TLS port serves EWS, Autodiscover, MAPI/HTTP, the OAuth token endpoint/JWKS and the admin
API; the SMTP submission server listens on a second port (see smtp.py).
"""

from __future__ import annotations

import logging
import ssl
import sys
import threading
from dataclasses import asdict
from http.server import ThreadingHTTPServer
from pathlib import Path
from typing import Any

from .autodiscover import Autodiscover
from .handler import Handler
from .state import FULL_APP, LIMITED_APP, Knobs, Sandbox

log = logging.getLogger("connectivity.sandbox")


__all__ = ["FULL_APP", "LIMITED_APP", "Handler", "Knobs", "Sandbox", "SandboxServer"]


class _TLSServer(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 128

    def handle_error(self, request, client_address):
        # A client that disconnects mid-request (killed worker, timeout) is normal life for a
        # server, not a traceback on stderr.
        exc = sys.exc_info()[1]
        if isinstance(exc, ConnectionError | ssl.SSLError | TimeoutError):
            log.info("client %s left: %r", client_address, exc)
            return
        super().handle_error(request, client_address)


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
