"""A minimal IMAP4rev1 server for the sandbox mailboxes (RFC 3501 subset).

CAPABILITY, NOOP, STARTTLS, LOGIN, AUTHENTICATE PLAIN / XOAUTH2, SELECT / EXAMINE (INBOX),
STATUS, LIST, CLOSE and LOGOUT: what a connectivity test does. Credentials are accepted only
over TLS (LOGINDISABLED before STARTTLS), as Exchange does.
"""

from __future__ import annotations

import base64
import binascii
import re
import shlex

from .mailserver import LineHandler, LineServer

_COMMAND = re.compile(r"^(\S+) (\S+)(?: (.*))?$")


class IMAPHandler(LineHandler):
    user: str | None = None
    selected = False

    def capabilities(self) -> str:
        caps = ["IMAP4rev1", "LITERAL+", "ID", "CHILDREN", "IDLE", "UIDPLUS"]
        if self.encrypted:
            caps += ["AUTH=PLAIN", "AUTH=XOAUTH2", "SASL-IR"]
        else:
            caps += ["STARTTLS", "LOGINDISABLED"]
        return " ".join(caps)

    def handle(self) -> None:
        self.send(
            f"* OK [CAPABILITY {self.capabilities()}] The Microsoft Exchange IMAP4 service is "
            "ready."
        )
        while True:
            line = self.readline()
            if line is None:
                return
            match = _COMMAND.match(line)
            if not match:
                self.send("* BAD Command Error. 10")
                continue
            tag, command, args = match.group(1), match.group(2).upper(), match.group(3) or ""
            method = getattr(self, f"do_{command}", None)
            if method is None:
                self.send(f"{tag} BAD Command Error. 12")
                continue
            if method(tag, args) is False:
                return

    # --- any state --------------------------------------------------------------------------
    def do_CAPABILITY(self, tag, args):
        self.send(f"* CAPABILITY {self.capabilities()}")
        self.send(f"{tag} OK CAPABILITY completed.")

    def do_NOOP(self, tag, args):
        self.send(f"{tag} OK NOOP completed.")

    def do_ID(self, tag, args):
        self.send('* ID ("name" "Exchange Interop Sandbox")')
        self.send(f"{tag} OK ID completed.")

    def do_LOGOUT(self, tag, args):
        self.send("* BYE Microsoft Exchange Server IMAP4 server signing off.")
        self.send(f"{tag} OK LOGOUT completed.")
        return False

    # --- not authenticated ------------------------------------------------------------------
    def do_STARTTLS(self, tag, args):
        if self.encrypted:
            self.send(f"{tag} BAD Command received in Invalid state.")
            return
        self.send(f"{tag} OK Begin TLS negotiation now.")
        self.start_tls()

    def do_LOGIN(self, tag, args):
        if not self.encrypted:
            self.send(f"{tag} NO LOGIN is disabled before STARTTLS.")
            return
        try:
            user, password = shlex.split(args)
        except ValueError:
            self.send(f"{tag} BAD Command Argument Error. 11")
            return
        self._signed_in(tag, self.check_password(user, password), "LOGIN")

    def do_AUTHENTICATE(self, tag, args):
        mechanism, _, initial = args.partition(" ")
        mechanism = mechanism.upper()
        if not self.encrypted or mechanism not in ("PLAIN", "XOAUTH2"):
            self.send(f"{tag} NO The AUTH protocol exchange was canceled by the client.")
            return
        if not initial:
            self.send("+ ")
            initial = self.readline() or ""
        if initial == "*":
            self.send(f"{tag} BAD AUTHENTICATE cancelled.")
            return
        if mechanism == "XOAUTH2":
            address = self.check_xoauth2(initial)
            if address is None:
                self.send(f"+ {self.xoauth2_error()}")
                self.readline()  # the client's empty answer ends the exchange
                self.send(f"{tag} NO AUTHENTICATE failed.")
                return
            self._signed_in(tag, address, "AUTHENTICATE")
            return
        try:
            _authz, user, password = base64.b64decode(initial, validate=True).decode().split("\0")
        except (ValueError, binascii.Error):
            self.send(f"{tag} BAD Command Argument Error. 11")
            return
        self._signed_in(tag, self.check_password(user, password), "AUTHENTICATE")

    def _signed_in(self, tag: str, address: str | None, command: str) -> None:
        if address is None:
            self.send(f"{tag} NO {command} failed.")
            return
        self.user = address
        self.send(f"{tag} OK {command} completed.")

    # --- authenticated ----------------------------------------------------------------------
    def _need_user(self, tag) -> bool:
        if self.user is None:
            self.send(f"{tag} BAD Command received in Invalid state.")
            return False
        return True

    def do_SELECT(self, tag, args, read_only=False):
        if not self._need_user(tag):
            return
        if _mailbox_name(args) != "INBOX":
            self.send(f"{tag} NO Mailbox doesn't exist.")
            return
        count = len(self.inbox(self.user))
        self.selected = True
        self.send("* FLAGS (\\Seen \\Answered \\Flagged \\Deleted \\Draft $MDNSent)")
        self.send(f"* {count} EXISTS")
        self.send("* 0 RECENT")
        self.send("* OK [UIDVALIDITY 14] UIDVALIDITY value")
        self.send(f"* OK [UIDNEXT {count + 1}] The next unique identifier value")
        mode = "READ-ONLY" if read_only else "READ-WRITE"
        self.send(f"{tag} OK [{mode}] {'EXAMINE' if read_only else 'SELECT'} completed.")

    def do_EXAMINE(self, tag, args):
        self.do_SELECT(tag, args, read_only=True)

    def do_STATUS(self, tag, args):
        if not self._need_user(tag):
            return
        name, _, _items = args.partition(" ")
        if _mailbox_name(name) != "INBOX":
            self.send(f"{tag} NO Mailbox doesn't exist.")
            return
        count = len(self.inbox(self.user))
        self.send(f"* STATUS INBOX (MESSAGES {count} UNSEEN 0 UIDNEXT {count + 1})")
        self.send(f"{tag} OK STATUS completed.")

    def do_LIST(self, tag, args):
        if not self._need_user(tag):
            return
        self.send('* LIST (\\HasNoChildren) "/" INBOX')
        self.send(f"{tag} OK LIST completed.")

    def do_CLOSE(self, tag, args):
        self.selected = False
        self.send(f"{tag} OK CLOSE completed.")


def _mailbox_name(text: str) -> str:
    return text.strip().strip('"').upper()


class IMAPServer(LineServer):
    protocol = "imap"

    def __init__(self, sandbox, host: str, port: int = 0, *, implicit_tls: bool = False):
        super().__init__(sandbox, IMAPHandler, host, port, implicit_tls=implicit_tls)
