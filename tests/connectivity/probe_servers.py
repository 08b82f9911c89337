"""Loopback servers for the probe tests: aiosmtpd SMTP and a bare TLS listener."""

from __future__ import annotations

import base64
import contextlib
import socket
import ssl
import threading

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword

USER = "alice@contoso.test"
PASSWORD = "S3cret-Pa55!"
TOKEN = "eyJ0eXAiOiJKV1QiLCJhbGciOiJSUzI1NiJ9.fake-token-value"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class RecordingHandler:
    """Accepts mail; remembers credentials offered and messages received."""

    def __init__(self, reject_auth_with: str | None = None) -> None:
        self.credentials: list[tuple[str, str]] = []
        self.messages: list[bytes] = []
        self.reject_auth_with = reject_auth_with

    def authenticator(self, server, session, envelope, mechanism, auth_data):
        if isinstance(auth_data, LoginPassword):
            user, pw = auth_data.login.decode(), auth_data.password.decode()
            self.credentials.append((user, pw))
            if user == USER and pw == PASSWORD and not self.reject_auth_with:
                return AuthResult(success=True)
        # handled=False makes aiosmtpd answer with ``message`` (or 535) instead of hanging
        return AuthResult(success=False, handled=False, message=self.reject_auth_with)

    async def auth_XOAUTH2(self, server, args):  # noqa: N802 - aiosmtpd naming
        if len(args) > 1:
            text = base64.b64decode(args[1]).decode()
        else:
            text = (await server.challenge_auth("")).decode()
        self.credentials.append(("xoauth2", text))
        if text == f"user={USER}\x01auth=Bearer {TOKEN}\x01\x01":
            return AuthResult(success=True)
        return AuthResult(success=False, handled=False)

    async def handle_DATA(self, server, session, envelope):  # noqa: N802
        self.messages.append(envelope.content)
        return "250 2.0.0 Queued"


@contextlib.contextmanager
def smtp_server(
    *,
    tls_context: ssl.SSLContext | None = None,
    implicit_tls: ssl.SSLContext | None = None,
    auth_require_tls: bool = True,
    reject_auth_with: str | None = None,
):
    handler = RecordingHandler(reject_auth_with)
    port = free_port()
    controller = Controller(
        handler,
        hostname="127.0.0.1",
        port=port,
        ssl_context=implicit_tls,
        server_hostname="mail.contoso.test",
        ready_timeout=5,
        tls_context=tls_context,
        # aiosmtpd does not notice implicit TLS; the transport is encrypted there anyway
        auth_require_tls=auth_require_tls and implicit_tls is None,
        authenticator=handler.authenticator,
        data_size_limit=10 * 1024 * 1024,
    )
    controller.start()
    try:
        yield port, handler
    finally:
        controller.stop()


@contextlib.contextmanager
def tls_server(ctx: ssl.SSLContext):
    """Accept connections, complete a TLS handshake, close. Yields the port."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(8)
    listener.settimeout(0.2)
    stop = threading.Event()

    def run():
        while not stop.is_set():
            try:
                conn, _ = listener.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            conn.settimeout(5)
            try:
                with ctx.wrap_socket(conn, server_side=True) as tls:
                    tls.recv(1)
            except OSError:
                pass
            finally:
                conn.close()

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    try:
        yield listener.getsockname()[1]
    finally:
        stop.set()
        thread.join(2)
        listener.close()
