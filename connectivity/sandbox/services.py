"""The sandbox's services beside HTTPS and SMTP: DNS for its domain, IMAP4 and POP3.

With them every connectivity test of the registered sandbox tenant has a real peer: the DNS
test asks the sandbox's own responder, the IMAP4/POP3 tests sign in to its mailboxes.
"""

from __future__ import annotations

from .dns import DNSServer, sandbox_zone
from .imap import IMAPServer
from .pop3 import POP3Server


class MailServices:
    """Start/stop the DNS responder and the IMAP4/POP3 servers (STARTTLS) together."""

    def __init__(self, sandbox, host: str, https_port: int, *, dns_port: int = 0,
                 imap_port: int = 0, pop3_port: int = 0) -> None:  # fmt: skip
        zone = sandbox_zone(sandbox.domain, host, https_port)
        self.dns = DNSServer(sandbox.domain, zone, host, dns_port)
        try:
            self.imap = IMAPServer(sandbox, host, imap_port)
            try:
                self.pop3 = POP3Server(sandbox, host, pop3_port)
            except BaseException:
                self.imap.server_close()
                raise
        except BaseException:
            self.dns.stop()
            raise

    def start(self) -> MailServices:
        self.dns.start()
        self.imap.start()
        self.pop3.start()
        return self

    def stop(self) -> None:
        self.pop3.stop()
        self.imap.stop()
        self.dns.stop()

    @property
    def ports(self) -> dict[str, int]:
        return {"dns_port": self.dns.port, "imap_port": self.imap.port,
                "pop3_port": self.pop3.port}  # fmt: skip
