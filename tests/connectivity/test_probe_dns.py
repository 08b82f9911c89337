"""DNS probe against a local DNS responder (never the internet)."""

from __future__ import annotations

import pytest
from probe_dnsserver import dns_server

from connectivity.netguard import AddressRefused
from connectivity.probes.core import Status
from connectivity.probes.dns import ADDRESSES, AUTODISCOVER, MX, SRV, probe_dns

FULL = {
    "contoso.test.": [("A", "192.0.2.10"), ("AAAA", "2001:db8::10"),
                      ("MX", "10 contoso-test.mail.protection.outlook.example.")],
    "autodiscover.contoso.test.": [("CNAME", "autodiscover.outlook.example.")],
    "autodiscover.outlook.example.": [("A", "192.0.2.99")],
    "_autodiscover._tcp.contoso.test.": [("SRV", "0 0 443 mail.contoso.test.")],
}  # fmt: skip


def run(records, domain="contoso.test"):
    with dns_server(records) as (port, queries):
        result = probe_dns(domain, nameserver="127.0.0.1", port=port, timeout=2)
    return result, queries


def test_complete_domain_passes():
    result, queries = run(FULL)
    assert result.ok, result.to_dict()
    assert all(s.status == Status.PASS for s in result.steps)
    assert result.step(ADDRESSES).detail == "contoso.test → 192.0.2.10, 2001:db8::10"
    assert result.step(MX).detail == "10 contoso-test.mail.protection.outlook.example"
    assert "CNAME autodiscover.outlook.example" in result.step(AUTODISCOVER).detail
    assert "192.0.2.99" in result.step(AUTODISCOVER).detail
    assert result.step(SRV).detail.startswith("mail.contoso.test:443")
    assert ("_autodiscover._tcp.contoso.test.", "SRV") in queries


def test_missing_mx_and_srv():
    records = {
        "contoso.test.": [("A", "192.0.2.10")],
        "autodiscover.contoso.test.": [("A", "192.0.2.11")],
    }
    result, _ = run(records)
    assert result.step(MX).status == Status.FAIL
    assert "no MX records" in result.step(MX).detail
    assert result.step(MX).hint
    assert result.step(SRV).status == Status.WARN  # autodiscover host exists
    assert "192.0.2.11" in result.step(AUTODISCOVER).detail


def test_no_autodiscover_at_all_fails_srv():
    records = {"contoso.test.": [("MX", "10 mx.contoso.test.")]}
    result, _ = run(records)
    assert result.step(ADDRESSES).status == Status.WARN
    assert result.step(AUTODISCOVER).status == Status.WARN
    srv = result.step(SRV)
    assert srv.status == Status.FAIL
    assert "missing Autodiscover SRV" in srv.detail


def test_nxdomain_fails_and_skips():
    result, _ = run(FULL, domain="fabrikam.test")
    step = result.step(ADDRESSES)
    assert step.status == Status.FAIL and "NXDOMAIN" in step.detail
    assert [s.status for s in result.steps[1:]] == [Status.SKIP] * 3


def test_timeout_is_reported():
    import socket

    silent = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    silent.bind(("127.0.0.1", 0))
    try:
        result = probe_dns("contoso.test", nameserver="127.0.0.1",
                           port=silent.getsockname()[1], timeout=0.5)  # fmt: skip
    finally:
        silent.close()
    step = result.step(ADDRESSES)
    assert step.status == Status.FAIL and "timed out" in step.detail


def test_link_local_nameserver_refused_without_query(monkeypatch):
    import socket

    def forbidden(*a, **k):
        raise AssertionError("packet sent")

    monkeypatch.setattr(socket.socket, "sendto", forbidden)
    result = probe_dns("contoso.test", nameserver="169.254.169.254", timeout=1)
    step = result.step(ADDRESSES)
    assert step.status == Status.FAIL
    assert "metadata" in step.detail
    with pytest.raises(AddressRefused):
        from connectivity.probes.dns import make_resolver

        make_resolver("fe80::1")
