"""A minimal POP3 server for the sandbox mailboxes (RFC 1939, CAPA/STLS, SASL XOAUTH2).

CAPA, STLS, USER/PASS, AUTH PLAIN / XOAUTH2, STAT, LIST, UIDL, NOOP, RSET and QUIT: what a
connectivity test does. Credentials are accepted only over TLS, as Exchange does.
"""

from __future__ import annotations

import base64
import binascii

from .mailserver import LineHandler, LineServer


class POP3Handler(LineHandler):
    user: str | None = None
    pending_user: str | None = None

    def handle(self) -> None:
        self.send("+OK The Microsoft Exchange POP3 service is ready.")
        while True:
            line = self.readline()
            if line is None:
                return
            command, _, args = line.partition(" ")
            method = getattr(self, f"do_{command.upper()}", None)
            if method is None or not command.isalpha():
                self.send("-ERR Protocol error. 14")
                continue
            if method(args) is False:
                return

    def do_CAPA(self, args):
        self.send("+OK")
        lines = ["TOP", "UIDL", "RESP-CODES", "PIPELINING", "AUTH-RESP-CODE"]
        lines += ["USER", "SASL PLAIN XOAUTH2"] if self.encrypted else ["STLS"]
        for line in [*lines, "."]:
            self.send(line)

    def do_NOOP(self, args):
        self.send("+OK")

    def do_QUIT(self, args):
        self.send("+OK Microsoft Exchange Server POP3 server signing off.")
        return False

    def do_STLS(self, args):
        if self.encrypted:
            self.send("-ERR Command is not valid in this state.")
            return
        self.send("+OK Begin TLS negotiation.")
        self.start_tls()

    def do_USER(self, args):
        if not self.encrypted:
            self.send("-ERR Command is not valid in this state.")
            return
        self.pending_user = args.strip()
        self.send("+OK")

    def do_PASS(self, args):
        if self.pending_user is None or self.user is not None:
            self.send("-ERR Command is not valid in this state.")
            return
        self._signed_in(self.check_password(self.pending_user, args))

    def do_AUTH(self, args):
        mechanism, _, initial = args.partition(" ")
        mechanism = mechanism.upper()
        if not self.encrypted or mechanism not in ("PLAIN", "XOAUTH2") or self.user:
            self.send("-ERR Command is not valid in this state.")
            return
        if not initial:
            self.send("+ ")
            initial = self.readline() or ""
        if initial == "*":
            self.send("-ERR Authentication cancelled.")
            return
        if mechanism == "XOAUTH2":
            address = self.check_xoauth2(initial)
            if address is None:
                self.send(f"+ {self.xoauth2_error()}")
                self.readline()  # the client's empty answer ends the exchange
                self.send("-ERR Authentication failure: unknown user name or bad password.")
                return
            self._signed_in(address)
            return
        try:
            _authz, user, password = base64.b64decode(initial, validate=True).decode().split("\0")
        except (ValueError, binascii.Error):
            self.send("-ERR Protocol error. 14")
            return
        self._signed_in(self.check_password(user, password))

    def _signed_in(self, address: str | None) -> None:
        self.pending_user = None
        if address is None:
            self.send("-ERR Logon failure: unknown user name or bad password.")
            return
        self.user = address
        self.send("+OK User successfully authenticated.")

    # --- transaction state ------------------------------------------------------------------
    def _sizes(self) -> list[int] | None:
        if self.user is None:
            self.send("-ERR Command is not valid in this state.")
            return None
        return self.inbox(self.user)

    def do_STAT(self, args):
        sizes = self._sizes()
        if sizes is not None:
            self.send(f"+OK {len(sizes)} {sum(sizes)}")

    def do_LIST(self, args):
        sizes = self._sizes()
        if sizes is None:
            return
        self.send(f"+OK {len(sizes)} {sum(sizes)}")
        for number, size in enumerate(sizes, 1):
            self.send(f"{number} {size}")
        self.send(".")

    def do_UIDL(self, args):
        sizes = self._sizes()
        if sizes is None:
            return
        self.send("+OK")
        for number in range(1, len(sizes) + 1):
            self.send(f"{number} sandbox-{number}")
        self.send(".")

    def do_RSET(self, args):
        self.send("+OK")


class POP3Server(LineServer):
    protocol = "pop3"

    def __init__(self, sandbox, host: str, port: int = 0, *, implicit_tls: bool = False):
        super().__init__(sandbox, POP3Handler, host, port, implicit_tls=implicit_tls)
