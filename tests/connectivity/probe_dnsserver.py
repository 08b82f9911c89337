"""A tiny authoritative UDP DNS responder on loopback, built with dnspython."""

from __future__ import annotations

import contextlib
import socket
import threading

import dns.flags
import dns.message
import dns.name
import dns.rcode
import dns.rdataclass
import dns.rdatatype
import dns.rrset


class Zone:
    """records: {"name.": [("A", "192.0.2.1"), ("MX", "10 mx.example.")], ...}"""

    def __init__(self, records: dict[str, list[tuple[str, str]]]) -> None:
        self.records = {dns.name.from_text(k): v for k, v in records.items()}

    def answer(self, qname: dns.name.Name, qtype: int) -> tuple[int, list[dns.rrset.RRset]]:
        answers: list[dns.rrset.RRset] = []
        name = qname
        for _ in range(8):  # follow CNAMEs inside the zone
            if name not in self.records:
                return (dns.rcode.NXDOMAIN if not answers else dns.rcode.NOERROR), answers
            entries = self.records[name]
            wanted = [v for t, v in entries if dns.rdatatype.from_text(t) == qtype]
            if wanted:
                answers.append(
                    dns.rrset.from_text_list(name, 300, "IN", dns.rdatatype.to_text(qtype), wanted)
                )
                return dns.rcode.NOERROR, answers
            cname = [v for t, v in entries if t == "CNAME"]
            if not cname or qtype == dns.rdatatype.CNAME:
                return dns.rcode.NOERROR, answers
            answers.append(dns.rrset.from_text_list(name, 300, "IN", "CNAME", cname))
            name = dns.name.from_text(cname[0])
        return dns.rcode.SERVFAIL, []


@contextlib.contextmanager
def dns_server(records: dict[str, list[tuple[str, str]]], host: str = "127.0.0.1", port: int = 0):
    """Serve ``records`` on ``host`` (UDP; NXDOMAIN for every other name); yields the port and
    the list of queries asked. Port 53 on a loopback address can stand in for a machine's
    resolver (see test_explain's private /etc/resolv.conf)."""
    zone = Zone(records)
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sock.bind((host, port))
    sock.settimeout(0.2)
    stop = threading.Event()
    queries: list[tuple[str, str]] = []

    def run():
        while not stop.is_set():
            try:
                wire, peer = sock.recvfrom(4096)
            except TimeoutError:
                continue
            except OSError:
                return
            query = dns.message.from_wire(wire)
            q = query.question[0]
            queries.append((q.name.to_text(), dns.rdatatype.to_text(q.rdtype)))
            response = dns.message.make_response(query)
            response.flags |= dns.flags.AA
            rcode, answers = zone.answer(q.name, q.rdtype)
            response.set_rcode(rcode)
            response.answer.extend(answers)
            sock.sendto(response.to_wire(), peer)

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    try:
        yield sock.getsockname()[1], queries
    finally:
        stop.set()
        thread.join(2)
        sock.close()
