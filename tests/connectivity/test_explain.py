"""Failures in words: real network errors (DNS, TCP, TLS, through requests/urllib3 and the
system resolver) become a sentence and a hint — never a Python exception text."""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import sys
import textwrap

import pytest
import requests
from probe_dnsserver import dns_server
from probe_servers import free_port
from test_probe_cli import REPO, cli

from connectivity.explain import explain, render_hint
from connectivity.probes import probe_dns
from connectivity.probes.dns import ADDRESSES
from connectivity.sandbox.dns import DNSServer

RAW = ("HTTPSConnectionPool", "NameResolutionError", "Errno", "MaxRetryError", "object at 0x")


def _in_words(detail: str, hint: str) -> None:
    assert detail and hint
    assert not any(raw in detail + hint for raw in RAW), (detail, hint)


# --- dnspython: the DNS test's own resolver ----------------------------------------------------


def test_dns_name_that_does_not_exist_is_told_apart_from_no_answer():
    with dns_server({"contoso.test.": [("A", "192.0.2.10")]}) as (port, _queries):
        nx = probe_dns("fabrikam.test", nameserver="127.0.0.1", port=port, timeout=2)
    step = nx.step(ADDRESSES)
    assert "does not exist in DNS (NXDOMAIN)" in step.detail and "spelling" in step.hint
    _in_words(step.detail, step.hint)

    silent = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    silent.bind(("127.0.0.1", 0))  # a resolver address on loopback that never answers
    try:
        quiet = probe_dns("contoso.test", nameserver="127.0.0.1",
                          port=silent.getsockname()[1], timeout=0.5)  # fmt: skip
    finally:
        silent.close()
    step = quiet.step(ADDRESSES)
    assert "did not answer" in step.detail and "spelling" not in step.hint
    assert "{dns_server}" in step.hint
    _in_words(step.detail, step.hint)


def test_a_resolver_that_refuses_is_no_answer_not_a_missing_name():
    server = DNSServer("contoso.test.", {"contoso.test.": [("A", "192.0.2.10")]}).start()
    try:
        result = probe_dns("fabrikam.com", nameserver="127.0.0.1", port=server.port, timeout=2)
    finally:
        server.stop()
    step = result.step(ADDRESSES)
    assert "refused or failed" in step.detail and "does not exist" not in step.detail
    _in_words(step.detail, step.hint)


# --- the system resolver (getaddrinfo), as requests and every probe use it ----------------------

_CHILD = textwrap.dedent(
    """
    import json, sys, requests
    from connectivity import netguard
    from connectivity.explain import explain
    out = {}
    for host in sys.argv[1:]:
        try:
            netguard.resolve(host, 443, timeout=5)
        except netguard.ResolutionFailed as exc:
            out[host] = {"kind": exc.kind, "words": explain(exc)}
        try:
            requests.post(f"https://{host}/tenant/oauth2/v2.0/token", timeout=5)
        except requests.RequestException as exc:
            out[host + " (requests)"] = {"words": explain(exc)}
    print(json.dumps(out))
    """
)


def _with_resolv_conf(tmp_path, nameserver: str, *hosts: str, child: str = _CHILD) -> dict:
    """Run ``child`` (Python printing JSON; ``hosts`` are its arguments) in a process whose
    /etc/resolv.conf names ``nameserver`` (a private mount namespace: the machine's own
    resolver configuration is untouched)."""
    if os.geteuid() != 0 or not shutil.which("unshare"):
        pytest.skip("needs root and unshare(1) to give a child its own /etc/resolv.conf")
    conf = tmp_path / "resolv.conf"
    conf.write_text(f"nameserver {nameserver}\noptions timeout:1 attempts:1\n")
    script = f'mount --bind {conf} /etc/resolv.conf && exec {sys.executable} -c "$0" "$@"'
    proc = subprocess.run(
        ["unshare", "-m", "sh", "-c", script, child, *hosts], cwd=REPO, capture_output=True,
        text=True, timeout=60, env={**os.environ, "PYTHONPATH": REPO},
    )  # fmt: skip
    if proc.returncode and "mount" in proc.stderr:
        pytest.skip(f"cannot mount in a private namespace here: {proc.stderr.strip()}")
    assert proc.returncode == 0, proc.stderr
    return json.loads(proc.stdout)


def test_system_resolver_nxdomain_versus_no_resolver(tmp_path):
    zone = {"contoso.test.": [("A", "192.0.2.10")]}
    try:
        server = DNSServer("test.", zone, host="127.77.0.53", port=53).start()
    except OSError as exc:
        pytest.skip(f"cannot listen on 127.77.0.53:53: {exc.strerror}")
    try:
        answered = _with_resolv_conf(tmp_path, "127.77.0.53", "fabrikam.test")
    finally:
        server.stop()
    nx = answered["fabrikam.test"]
    assert nx["kind"] == "nxdomain"
    assert "fabrikam.test does not exist in DNS" in nx["words"][0]
    via_requests = answered["fabrikam.test (requests)"]["words"]
    assert "fabrikam.test does not exist in DNS" in via_requests[0]
    _in_words(*via_requests)

    # Nothing listens at this address: like a machine without a working resolver.
    silent = _with_resolv_conf(
        tmp_path, "127.77.0.54", "fabrikam.test", "login.microsoftonline.com"
    )
    for host in ("fabrikam.test", "login.microsoftonline.com"):
        assert silent[host]["kind"] == "no_answer"
        detail, hint = silent[f"{host} (requests)"]["words"]
        assert f"could not resolve {host}: no DNS server answered" in detail
        assert "does not exist" not in detail and "Internet" in hint
        _in_words(detail, hint)


def test_a_public_microsoft_name_reported_missing_means_no_public_dns(tmp_path):
    server = DNSServer("com.", {"contoso.com.": [("A", "192.0.2.10")]}, host="127.77.0.53",
                       port=53)  # fmt: skip
    server.start()
    try:
        answered = _with_resolv_conf(tmp_path, "127.77.0.53", "login.microsoftonline.com")
    finally:
        server.stop()
    detail, hint = answered["login.microsoftonline.com (requests)"]["words"]
    assert "cannot resolve public names" in detail and "{dns_server}" in hint
    _in_words(detail, hint)


# --- TCP and TLS through requests ----------------------------------------------------------------


def test_refused_connection_through_requests_in_words():
    with pytest.raises(requests.RequestException) as caught:
        requests.post(f"https://127.0.0.1:{free_port()}/token", timeout=3)
    detail, hint = explain(caught.value)
    assert detail.startswith("connection refused") and "port" in hint
    _in_words(detail, hint)


def test_untrusted_certificate_names_the_ca_setting(sandbox):
    with pytest.raises(requests.RequestException) as caught:
        requests.post(sandbox["token_url"], timeout=5)  # the sandbox's private CA is not trusted
    detail, hint = explain(caught.value)
    assert "certificate is not trusted" in detail and "{ca_file}" in hint
    _in_words(detail, hint)
    assert "--ca-file" in render_hint(hint, {"ca_file": "--ca-file"})


def test_cli_hints_name_the_cli_flag(sandbox):
    port = sandbox["ews_url"].split(":")[2].split("/")[0]
    proc = cli("tls", "--host", "127.0.0.1", "--port", port, "--json")
    assert proc.returncode == 1, proc.stderr
    chain = next(s for s in json.loads(proc.stdout)["steps"] if s["name"] == "Certificate chain")
    assert "--ca-file" in chain["hint"] and "{ca_file}" not in chain["hint"]
