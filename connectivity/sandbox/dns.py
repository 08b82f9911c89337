"""A small authoritative DNS responder (UDP) for the sandbox's domain, built with dnspython.

It answers what the Exchange DNS test asks for: the domain's A record and MX, the Autodiscover
CNAME and SRV records, all pointing at the sandbox on loopback. A name inside the zone that is
not listed gets NXDOMAIN; a name outside it gets REFUSED, like an authoritative server that does
not recurse.
"""

from __future__ import annotations

import logging
import socket
import threading

import dns.exception
import dns.flags
import dns.message
import dns.name
import dns.rcode
import dns.rdatatype
import dns.rrset

log = logging.getLogger("connectivity.sandbox.dns")


def sandbox_zone(domain: str, address: str, https_port: int) -> dict[str, list[tuple[str, str]]]:
    """The records of the sandbox's domain: every host is the sandbox itself."""
    kind = "AAAA" if ":" in address else "A"
    mail = f"mail.{domain}."
    return {
        f"{domain}.": [(kind, address), ("MX", f"10 {mail}")],
        mail: [(kind, address)],
        f"autodiscover.{domain}.": [("CNAME", mail)],
        f"_autodiscover._tcp.{domain}.": [("SRV", f"0 0 {https_port} {mail}")],
    }


class Zone:
    def __init__(self, origin: str, records: dict[str, list[tuple[str, str]]]) -> None:
        self.origin = dns.name.from_text(origin)
        self.records = {dns.name.from_text(k): v for k, v in records.items()}

    def answer(self, qname: dns.name.Name, qtype: int) -> tuple[int, list[dns.rrset.RRset]]:
        if not qname.is_subdomain(self.origin):
            return dns.rcode.REFUSED, []
        answers: list[dns.rrset.RRset] = []
        name = qname
        for _ in range(8):  # follow CNAMEs inside the zone
            entries = self.records.get(name)
            if entries is None:
                return (dns.rcode.NXDOMAIN if not answers else dns.rcode.NOERROR), answers
            wanted = [v for t, v in entries if dns.rdatatype.from_text(t) == qtype]
            rdtype = dns.rdatatype.to_text(qtype)
            if wanted:
                answers.append(dns.rrset.from_text_list(name, 300, "IN", rdtype, wanted))
                return dns.rcode.NOERROR, answers
            cname = [v for t, v in entries if t == "CNAME"]
            if not cname or qtype == dns.rdatatype.CNAME:
                return dns.rcode.NOERROR, answers
            answers.append(dns.rrset.from_text_list(name, 300, "IN", "CNAME", cname))
            name = dns.name.from_text(cname[0])
        return dns.rcode.SERVFAIL, []


class DNSServer:
    """Serve ``records`` for ``origin`` on ``host:port`` (UDP; port 0 picks a free port)."""

    def __init__(self, origin: str, records, host: str = "127.0.0.1", port: int = 0) -> None:
        self.zone = Zone(origin, records)
        family = socket.AF_INET6 if ":" in host else socket.AF_INET
        self._sock = socket.socket(family, socket.SOCK_DGRAM)
        self._sock.bind((host, port))
        self._sock.settimeout(0.2)
        self.port = self._sock.getsockname()[1]
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._serve, name="sandbox-dns", daemon=True)

    def start(self) -> DNSServer:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(2)
        self._sock.close()

    def _serve(self) -> None:
        while not self._stop.is_set():
            try:
                wire, peer = self._sock.recvfrom(4096)
            except TimeoutError:
                continue
            except OSError:
                return
            try:
                self._sock.sendto(self.respond(wire), peer)
            except (dns.exception.DNSException, OSError, IndexError):
                log.info("DNS: ignored a malformed query from %s", peer[0])

    def respond(self, wire: bytes) -> bytes:
        query = dns.message.from_wire(wire)
        question = query.question[0]
        response = dns.message.make_response(query)
        rcode, answers = self.zone.answer(question.name, question.rdtype)
        if rcode != dns.rcode.REFUSED:
            response.flags |= dns.flags.AA
        response.set_rcode(rcode)
        response.answer.extend(answers)
        return response.to_wire()
