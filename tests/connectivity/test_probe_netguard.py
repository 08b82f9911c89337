"""netguard: link-local and metadata addresses are refused before any packet is sent."""

from __future__ import annotations

import socket
import time

import pytest
from probe_servers import smtp_server

from connectivity import netguard
from connectivity.netguard import AddressRefused, ResolutionFailed
from connectivity.probes.core import Status
from connectivity.probes.smtp import probe_smtp
from connectivity.probes.tcp import probe_tcp
from connectivity.probes.tls import probe_tls

REFUSED = [
    "169.254.169.254",
    "169.254.10.20",
    "fe80::1",
    "fe80::abcd%eth0",
    "100.100.100.200",
    "fd00:ec2::254",
    "::ffff:169.254.169.254",
]
ALLOWED = ["127.0.0.1", "::1", "10.1.2.3", "192.168.0.10", "203.0.113.7", "2001:db8::1"]


@pytest.fixture
def no_network(monkeypatch):
    """Fail the test if anything tries to open a connection or resolve a name."""
    attempts = []

    def forbidden(*args, **kwargs):
        attempts.append(args)
        raise AssertionError(f"network use attempted: {args!r}")

    monkeypatch.setattr(socket.socket, "connect", forbidden)
    monkeypatch.setattr(socket.socket, "connect_ex", forbidden)
    monkeypatch.setattr(socket, "create_connection", forbidden)
    monkeypatch.setattr(socket, "getaddrinfo", forbidden)
    return attempts


@pytest.mark.parametrize("address", REFUSED)
def test_refused_addresses(address):
    assert netguard.refusal_reason(address) is not None
    assert netguard.refusal_reason(address, allow_link_local=True) is None


@pytest.mark.parametrize("address", ALLOWED)
def test_allowed_addresses(address):
    assert netguard.refusal_reason(address) is None


@pytest.mark.parametrize("address", REFUSED)
def test_connect_refuses_before_any_packet(address, no_network):
    with pytest.raises(AddressRefused):
        netguard.connect(address, 80, timeout=1)
    assert no_network == []


@pytest.mark.parametrize("probe", [probe_tcp, probe_tls, probe_smtp])
def test_probe_refuses_metadata_answer_without_connecting(probe, no_network):
    calls = []

    def resolver(host, port):
        calls.append(host)
        return ["169.254.169.254"]

    result = probe("exchange.contoso.test", 443, resolver=resolver, timeout=1)
    assert calls == ["exchange.contoso.test"]
    assert no_network == []
    resolve = result.step("Resolve host")
    assert resolve.status == Status.FAIL
    assert "metadata" in resolve.detail
    assert "{allow_link_local}" in resolve.hint
    assert result.step("TCP connect").status == Status.SKIP
    assert not result.ok


def test_mixed_answer_is_refused_as_a_whole(no_network):
    result = probe_tcp("x.test", 25, resolver=lambda h, p: ["127.0.0.1", "fe80::1"], timeout=1)
    assert result.step("Resolve host").status == Status.FAIL
    assert "link-local" in result.step("Resolve host").detail
    assert no_network == []


def test_ip_literal_is_vetted_without_resolving(no_network):
    def resolver(host, port):
        raise AssertionError("an IP literal needs no resolution")

    result = probe_tcp("100.100.100.200", 80, resolver=resolver, timeout=1)
    assert result.step("Resolve host").status == Status.FAIL
    assert no_network == []


def test_allow_link_local_lets_the_address_through(monkeypatch):
    attempted = []

    def fake_connect(address, port, *, timeout, allow_link_local):
        attempted.append((address, allow_link_local))
        raise ConnectionRefusedError()

    monkeypatch.setattr(netguard, "connect", fake_connect)
    result = probe_tcp(
        "x.test", 80, resolver=lambda h, p: ["169.254.169.254"], allow_link_local=True, timeout=1
    )
    assert result.step("Resolve host").status == Status.PASS
    assert attempted == [("169.254.169.254", True)]


def test_connects_only_to_the_vetted_address_no_second_resolution(monkeypatch, pki):
    """The probe resolves once (via our resolver) and never asks the system resolver."""
    calls = []

    def resolver(host, port):
        calls.append(host)
        return ["127.0.0.1"]

    def no_getaddrinfo(*args, **kwargs):
        raise AssertionError("second resolution attempted")

    with smtp_server() as (port, _):
        monkeypatch.setattr(socket, "getaddrinfo", no_getaddrinfo)
        result = probe_smtp("mail.contoso.test", port, security="none", resolver=resolver)
    assert calls == ["mail.contoso.test"]
    assert result.ok, result.to_dict()
    assert "127.0.0.1" in result.step("TCP connect").detail


def test_resolution_is_bounded_by_the_timeout():
    def slow(host, port):
        time.sleep(3)
        return ["127.0.0.1"]

    started = time.monotonic()
    with pytest.raises(ResolutionFailed, match="timed out"):
        netguard.resolve("slow.test", 25, resolver=slow, timeout=0.3)
    assert time.monotonic() - started < 2


def test_unresolvable_name_fails_with_hint():
    def nx(host, port):
        raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")

    result = probe_tcp("nope.invalid", 25, resolver=nx, timeout=1)
    step = result.step("Resolve host")
    assert step.status == Status.FAIL and "nope.invalid does not exist in DNS" in step.detail
    assert "DNS" in step.hint


def test_http_client_guard_refuses_metadata_for_requests(no_network):
    import requests

    def resolver(host, port):
        return ["169.254.169.254"]

    guard = netguard.guard_http_clients(resolver=resolver, timeout=1)
    with guard, pytest.raises(requests.exceptions.ConnectionError) as info:
        requests.get("http://metadata.test/latest/meta-data/", timeout=1)
    assert "metadata" in str(info.value)
    assert no_network == []


def test_http_client_guard_uses_the_pinned_address(monkeypatch):
    import requests

    seen = []

    def fake_connect_first(addresses, port, *, timeout, allow_link_local):
        seen.append((list(addresses), port))
        raise ConnectionRefusedError()

    monkeypatch.setattr(netguard, "connect_first", fake_connect_first)

    def resolver(host, port):
        raise AssertionError("pinned host must not be resolved again")

    guard = netguard.guard_http_clients({"ews.contoso.test": "127.0.0.1"}, resolver=resolver)
    with guard, pytest.raises(requests.exceptions.ConnectionError):
        requests.get("http://ews.contoso.test:8080/EWS/Exchange.asmx", timeout=1)
    assert seen == [(["127.0.0.1"], 8080)]


def test_http_client_guard_is_scoped_to_its_block(monkeypatch):
    import urllib3.util.connection as u3

    netguard._install_urllib3_hook()
    assert u3.create_connection is netguard._guarded_create_connection
    assert netguard._guard.get() is None  # outside a block: original behaviour
