"""The SMTP probe's client: ``smtplib`` on a socket the probe opened, with a leaner wire layer.

A fan-out runs hundreds of probes per core, so the client's CPU per probe is the engine's
ceiling.  ``smtplib`` reads every reply line through a ``makefile`` buffered reader and a
``SocketIO`` adapter, and quotes each address through the ``email`` package's address parser;
together about a tenth of a full probe's CPU.  Replies are read here straight from the socket into
one buffer, and the probe's addresses (already checked to be plain ``local@domain``) are quoted
directly.  Everything else — EHLO parsing, STARTTLS, AUTH, DATA, QUIT and the exceptions each
raises — is ``smtplib``'s own, so the probe reports exactly what it did before.
"""

from __future__ import annotations

import re
import smtplib
import socket

MAX_LINE = 8192  # smtplib._MAXLINE: a longer reply line is refused as smtplib refuses it
READ_SIZE = 65536
ACCEPTED = {"MAIL FROM": (250, 251), "RCPT TO": (250, 251), "DATA": (354,)}


class ReplyTooLong(smtplib.SMTPResponseException):
    """A reply line over MAX_LINE bytes: refused here (as smtplib refuses it), not sent by the
    server, so the probe says so in its own words instead of explaining a 500 reply."""


class ProbeSMTP(smtplib.SMTP):
    """smtplib on a socket we opened ourselves (to the vetted IP, never re-resolved)."""

    def __init__(self, sock: socket.socket, host: str, local_hostname: str, timeout: float):
        self._sock_in = sock
        self._pending = b""  # bytes received after the last complete reply
        super().__init__(local_hostname=local_hostname, timeout=timeout)
        self._host = host  # used by starttls() for SNI

    def _get_socket(self, host, port, timeout):
        return self._sock_in

    def send(self, s) -> None:
        if isinstance(s, str):
            s = s.encode(self.command_encoding)
        if self.sock is None:
            raise smtplib.SMTPServerDisconnected("please run connect() first")
        try:
            self.sock.sendall(s)
        except OSError:
            self.close()
            raise smtplib.SMTPServerDisconnected("Server not connected") from None

    def _line(self) -> bytes:
        buffered = self._pending
        end = buffered.find(b"\n")
        while end < 0:
            if len(buffered) > MAX_LINE:
                self.close()
                raise ReplyTooLong(500, "Line too long.")
            try:
                chunk = self.sock.recv(READ_SIZE) if self.sock is not None else b""
            except TimeoutError:
                # A server that stays silent did not hang up: the step says it timed out.
                self.close()
                raise
            except OSError as exc:
                self.close()
                raise smtplib.SMTPServerDisconnected(
                    f"Connection unexpectedly closed: {exc}"
                ) from None
            if not chunk:
                self.close()
                raise smtplib.SMTPServerDisconnected("Connection unexpectedly closed")
            buffered += chunk
            end = buffered.find(b"\n")
        self._pending = buffered[end + 1 :]
        line = buffered[: end + 1]
        if len(line) > MAX_LINE:
            self.close()
            raise ReplyTooLong(500, "Line too long.")
        return line

    def getreply(self) -> tuple[int, bytes]:
        """(code, text) of one reply, continuation lines joined by LF; -1 for a garbled code."""
        lines = []
        while True:
            line = self._line()
            lines.append(line[4:].strip(b" \t\r\n"))
            try:
                code = int(line[:3])
            except ValueError:
                code = -1
                break
            if line[3:4] != b"-":
                break
        return code, b"\n".join(lines)

    def mail(self, sender, options=()):
        # The probe's addresses are plain local@domain (checked before any I/O), for which
        # smtplib's quoteaddr() gives exactly "<address>".
        self.putcmd("mail", f"FROM:<{sender}>")
        return self.getreply()

    def rcpt(self, recip, options=()):
        self.putcmd("rcpt", f"TO:<{recip}>")
        return self.getreply()

    def transaction(self, mail_from: str, rcpt_to: str) -> list[tuple[str, int, bytes]]:
        """MAIL, RCPT and DATA: each stage's reply, in order, up to the first refusal.

        A server that offers PIPELINING (RFC 2920; Exchange does) gets the three commands in one
        write and answers each in turn: two round trips fewer, the same three replies.
        """
        if any(c in mail_from + rcpt_to for c in "\r\n"):
            raise ValueError("addresses must not contain CR or LF")  # as putcmd() refuses them
        commands = (("MAIL FROM", f"mail FROM:<{mail_from}>"), ("RCPT TO", f"rcpt TO:<{rcpt_to}>"),
                    ("DATA", "data"))  # fmt: skip
        replies = []
        if self.has_extn("pipelining"):
            self.send("".join(f"{command}\r\n" for _stage, command in commands))
            for stage, _command in commands:
                try:
                    replies.append((stage, *self.getreply()))
                except (smtplib.SMTPServerDisconnected, TimeoutError):
                    # A refusal may be the server's last word (421 closes the connection, RFC
                    # 5321 3.8): the replies to the commands after it never come, and the
                    # refusal is what the admin needs to see.
                    if any(code not in ACCEPTED[done] for done, code, _text in replies):
                        return replies
                    raise
            return replies
        for stage, command in commands:
            self.putcmd(command)
            code, text = self.getreply()
            replies.append((stage, code, text))
            if code not in ACCEPTED[stage]:
                break
        return replies

    def message(self, data: bytes) -> tuple[int, bytes]:
        """After DATA's 354: the message, dot-stuffed, and its end; the server's final reply."""
        data = re.sub(rb"(?m)^\.", b"..", data)
        if not data.endswith(b"\r\n"):
            data += b"\r\n"
        self.send(data + b".\r\n")
        return self.getreply()

    def starttls(self, *args, **kwargs):
        # Bytes sent in clear text after the 220 must not be read as if they came over TLS
        # (the STARTTLS command-injection attack); smtplib drops its reader for the same reason.
        self._pending = b""
        answer = super().starttls(*args, **kwargs)
        self._pending = b""
        return answer

    def close(self) -> None:
        self._pending = b""
        super().close()
