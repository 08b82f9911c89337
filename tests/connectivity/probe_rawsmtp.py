"""A scripted SMTP peer that records how the client's bytes arrive, for the pipelining tests.

aiosmtpd answers by the protocol and reads lines, so a test cannot see whether MAIL, RCPT and DATA
came in one write or three.  This peer speaks just enough SMTP (EHLO, STARTTLS through ``ssl``,
MAIL, RCPT, DATA, QUIT), keeps every ``recv()`` as it came (over TLS one ``recv()`` returns at most
one TLS record, i.e. one client write), and misbehaves on cue: scripted replies per command (a
refused RCPT followed by 354 anyway, an overlong line), a hang-up after a command, and bytes sent
ahead of the TLS handshake.
"""

from __future__ import annotations

import socket
import ssl
import threading
import time

DEFAULT_REPLIES = {
    "MAIL": "250 2.1.0 Sender OK",
    "RCPT": "250 2.1.5 Recipient OK",
    "DATA": "354 Start mail input; end with <CRLF>.<CRLF>",
    ".": "250 2.6.0 <raw@mail.contoso.test> Queued mail for delivery",
    "QUIT": "221 2.0.0 Service closing transmission channel",
    "RSET": "250 2.0.0 Resetting",
    "NOOP": "250 2.0.0 OK",
}
READY = b"220 2.0.0 SMTP server ready\r\n"


class ScriptedSMTP:
    """One listener; connections are served one after another on a background thread.

    ``replies`` overrides DEFAULT_REPLIES per verb ("." is the end of the message data): a str
    gets CRLF appended, bytes are sent as they are, None sends nothing.  ``hang_up_after`` names
    a verb after whose (scripted) reply the server closes the connection.  ``starttls_reply`` is
    written before the handshake: bytes in one write, a tuple of bytes as separate writes 0.2 s
    apart.
    """

    def __init__(self, *, tls: ssl.SSLContext | None = None, pipelining: bool = True,
                 replies: dict | None = None, hang_up_after: str | None = None,
                 starttls_reply: bytes | tuple[bytes, ...] = READY):  # fmt: skip
        self.tls, self.pipelining = tls, pipelining
        self.replies = {**DEFAULT_REPLIES, **(replies or {})}
        self.hang_up_after = hang_up_after
        self.starttls_reply = starttls_reply
        self.chunks: list[tuple[bool, bytes]] = []  # (over TLS?, what one recv() returned)
        self.commands: list[str] = []  # every command line, CRLF stripped
        self.messages: list[bytes] = []  # each message's data, the ending "." excluded
        self.errors: list[BaseException] = []
        self._listener = socket.create_server(("127.0.0.1", 0))
        self._listener.settimeout(0.2)
        self.port = self._listener.getsockname()[1]
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._serve, daemon=True)

    # -- what the tests read -------------------------------------------------------------------
    def chunk_with(self, text: bytes) -> bytes:
        """The one recv() that carried ``text``."""
        [chunk] = [c for _tls, c in self.chunks if text in c]
        return chunk

    # -- the server ----------------------------------------------------------------------------
    def _serve(self) -> None:
        while not self._stop.is_set():
            try:
                conn, _ = self._listener.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            conn.settimeout(5)
            session = _Session(self, conn)
            try:
                session.run()
            except (OSError, ValueError) as exc:  # ssl.SSLError is an OSError
                self.errors.append(exc)
            finally:
                session.conn.close()  # the TLS socket once STARTTLS wrapped it
                conn.close()

    def __enter__(self) -> ScriptedSMTP:
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._stop.set()
        self._thread.join(5)
        self._listener.close()


class _Session:
    def __init__(self, server: ScriptedSMTP, conn: socket.socket) -> None:
        self.server, self.conn = server, conn
        self.over_tls = False
        self.buffer = b""

    def send(self, reply: str | bytes | None) -> None:
        if reply is not None:
            self.conn.sendall(reply if isinstance(reply, bytes) else reply.encode() + b"\r\n")

    def line(self) -> bytes | None:
        while b"\n" not in self.buffer:
            chunk = self.conn.recv(65536)
            if not chunk:
                return None
            self.server.chunks.append((self.over_tls, chunk))
            self.buffer += chunk
        line, self.buffer = self.buffer.split(b"\n", 1)
        return line + b"\n"

    def ehlo(self) -> str:
        lines = ["mail.contoso.test Hello", "SIZE 36700160"]
        if self.server.pipelining:
            lines.append("PIPELINING")
        if self.server.tls is not None and not self.over_tls:
            lines.append("STARTTLS")
        lines.append("8BITMIME")
        return "\r\n".join(f"250-{x}" for x in lines[:-1]) + f"\r\n250 {lines[-1]}"

    def run(self) -> None:
        server = self.server
        self.send("220 mail.contoso.test Microsoft ESMTP MAIL Service ready")
        while (raw := self.line()) is not None:
            command = raw.rstrip(b"\r\n").decode("ascii", "replace")
            server.commands.append(command)
            verb = command.split(" ", 1)[0].upper()
            if verb == "EHLO":
                self.send(self.ehlo())
            elif verb == "STARTTLS" and server.tls is not None and not self.over_tls:
                self.starttls()
            elif verb == "DATA" and (server.replies["DATA"] or "")[:3] in ("354", b"354"):
                self.send(server.replies["DATA"])
                self.data()
                verb = "."
            else:
                self.send(server.replies.get(verb, "500 5.3.3 Unrecognized command"))
            if verb == "QUIT" or verb == server.hang_up_after:
                return

    def starttls(self) -> None:
        reply = self.server.starttls_reply
        for i, part in enumerate(reply if isinstance(reply, tuple) else (reply,)):
            if i:
                time.sleep(0.2)
            self.conn.sendall(part)
        self.buffer = b""  # what came before the handshake is not trusted after it
        self.conn = self.server.tls.wrap_socket(self.conn, server_side=True)
        self.over_tls = True

    def data(self) -> None:
        lines = []
        while (raw := self.line()) not in (b".\r\n", None):
            lines.append(raw[1:] if raw.startswith(b".") else raw)
        if raw is None:
            return
        self.server.messages.append(b"".join(lines))
        self.send(self.server.replies["."])
