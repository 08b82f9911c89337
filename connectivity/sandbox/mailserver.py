"""What the sandbox's IMAP4 and POP3 servers share: a threaded line server with STARTTLS or
implicit TLS (the sandbox's CA), mailbox sign-in by password or XOAUTH2 app token, and the Inbox
as a list of messages.

Just enough of each protocol for a connectivity test: greet, list capabilities, upgrade to TLS,
sign in, open the Inbox and count it, and say goodbye.
"""

from __future__ import annotations

import base64
import binascii
import hmac
import json
import logging
import socketserver
import ssl
import threading

from .auth import AuthError, grant_covers

log = logging.getLogger("connectivity.sandbox.mail")

MAX_LINE = 16384  # an XOAUTH2 line carries a whole JWT


class LineHandler(socketserver.StreamRequestHandler):
    timeout = 60  # idle connections are closed
    encrypted = False

    @property
    def sandbox(self):
        return self.server.sandbox

    def setup(self) -> None:
        if self.server.implicit_tls:
            self.request.settimeout(self.timeout)
            self.request = self.server.tls_context.wrap_socket(self.request, server_side=True)
            self.encrypted = True
        super().setup()

    def send(self, line: str) -> None:
        self.wfile.write(line.encode() + b"\r\n")
        self.wfile.flush()

    def readline(self) -> str | None:
        data = self.rfile.readline(MAX_LINE)
        if not data:
            return None
        return data.decode("utf-8", "replace").rstrip("\r\n")

    def start_tls(self) -> None:
        self.wfile.flush()
        self.request = self.server.tls_context.wrap_socket(self.request, server_side=True)
        self.connection = self.request
        self.rfile = self.request.makefile("rb")
        self.wfile = self.request.makefile("wb")
        self.encrypted = True

    # --- sign-in ----------------------------------------------------------------------------
    def check_password(self, user: str, password: str) -> str | None:
        row = self.sandbox.store.get_mailbox(user)
        if row is not None and hmac.compare_digest(row["password"].encode(), password.encode()):
            return row["address"]
        log.info("%s sign-in refused for %s", self.server.protocol, user)
        return None

    def check_xoauth2(self, blob_b64: str) -> str | None:
        """The mailbox an XOAUTH2 initial response may open, or None.

        As in Exchange Online, an app-only token opens a mailbox only when the application's
        grant covers it (a service principal with Add-MailboxPermission there).
        """
        try:
            text = base64.b64decode(blob_b64, validate=True).decode()
            fields = dict(p.split("=", 1) for p in text.split("\x01") if "=" in p)
            user = fields["user"].lower()
            principal = self.sandbox.tokens.validate(fields["auth"].removeprefix("Bearer ").strip())
        except (ValueError, KeyError, binascii.Error, AuthError):
            log.info("%s XOAUTH2 refused: bad or expired token", self.server.protocol)
            return None
        store = self.sandbox.store
        allowed = (principal.kind == "app" and grant_covers(store, principal.app_id, user)) or (
            principal.kind == "user" and principal.user == user
        )
        if store.get_mailbox(user) is None or not allowed:
            log.info("%s XOAUTH2 refused: no grant for %s", self.server.protocol, user)
            return None
        return user

    @staticmethod
    def xoauth2_error() -> str:
        """The error challenge Exchange Online sends for a refused token (RFC 7628 3.2.2)."""
        body = {"status": "401", "schemes": "bearer", "scope": "https://outlook.office365.com/"}
        return base64.b64encode(json.dumps(body).encode()).decode()

    def inbox(self, address: str) -> list[int]:
        """Sizes (octets) of the Inbox messages, oldest first."""
        store = self.sandbox.store
        folder = store.distinguished_folder(address, "inbox")
        rows = store.folder_items(folder["id"]) if folder else []
        return [len((r["subject"] or "").encode()) + len((r["body"] or "").encode()) + 200
                for r in reversed(rows)]  # fmt: skip


class LineServer(socketserver.ThreadingTCPServer):
    daemon_threads = True
    allow_reuse_address = True
    protocol = "mail"

    def __init__(self, sandbox, handler, host: str, port: int, *, implicit_tls: bool) -> None:
        import socket

        self.address_family = socket.AF_INET6 if ":" in host else socket.AF_INET
        super().__init__((host, port), handler)
        self.sandbox = sandbox
        self.implicit_tls = implicit_tls
        self.tls_context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        self.tls_context.load_cert_chain(sandbox.tls.cert_file, sandbox.tls.key_file)
        self.port = self.server_address[1]
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        self._thread = threading.Thread(
            target=self.serve_forever, kwargs={"poll_interval": 0.2},
            name=f"sandbox-{self.protocol}", daemon=True,
        )  # fmt: skip
        self._thread.start()

    def stop(self) -> None:
        self.shutdown()
        self.server_close()
