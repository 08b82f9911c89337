"""The DNS test on a machine whose own resolver cannot see the Internet.

A domain that this machine's resolver calls missing is only blamed when the resolver does know
a public name (connectivity.explain.PUBLIC_NAME); when that is "missing" too, the test says the
machine cannot resolve public names, as the EWS, TLS and token steps do. The machine's resolver
is a local responder on port 53 named by a private /etc/resolv.conf (see test_explain); a DNS
server the tenant names itself is taken at its word.
"""

from __future__ import annotations

import contextlib
import json
import textwrap

import pytest
from probe_dnsserver import dns_server
from test_explain import _with_resolv_conf

from connectivity.explain import NXDOMAIN_HINT, PUBLIC_NAME, PUBLIC_NXDOMAIN_HINT
from connectivity.probes.core import Status
from connectivity.probes.dns import ADDRESSES, probe_dns

# The CLI, run inside the private namespace: its JSON (hints rendered as flags) and its text.
_CLI_CHILD = textwrap.dedent(
    """
    import json, subprocess, sys
    base = [sys.executable, "-m", "connectivity", "dns", "--host", sys.argv[1], "--timeout", "3"]
    out = {}
    for mode, extra in (("json", ["--json"]), ("text", [])):
        proc = subprocess.run(base + extra, capture_output=True, text=True, timeout=60)
        out[mode] = {"rc": proc.returncode, "stdout": proc.stdout, "stderr": proc.stderr}
    print(json.dumps(out))
    """
)
PUBLIC_A = {f"{PUBLIC_NAME}.": [("A", "192.0.2.80")]}


@contextlib.contextmanager
def machine_resolver(records):
    """A responder on port 53 of a loopback address no other test uses (NXDOMAIN for every
    name not in ``records``); yields its address and the queries it was asked."""
    for third in range(120, 130):
        address = f"127.77.{third}.53"
        try:
            server = dns_server(records, host=address, port=53)
            _port, queries = server.__enter__()
        except OSError:
            continue
        try:
            yield address, queries
        finally:
            server.__exit__(None, None, None)
        return
    pytest.skip("cannot listen on port 53 of a loopback address here")


def _cli_in_namespace(tmp_path, records, domain):
    with machine_resolver(records) as (address, queries):
        out = _with_resolv_conf(tmp_path, address, domain, child=_CLI_CHILD)
    return out, queries


def _addresses_step(out):
    assert out["json"]["rc"] == 1, out
    data = json.loads(out["json"]["stdout"])
    return next(s for s in data["steps"] if s["name"] == ADDRESSES)


def test_a_resolver_that_knows_no_public_name_is_not_blamed_on_the_domain(tmp_path):
    out, queries = _cli_in_namespace(tmp_path, {}, "contoso.com")
    step = _addresses_step(out)
    assert step["status"] == "fail"
    assert step["detail"] == (
        "the DNS server says contoso.com does not exist, and it cannot resolve the public name "
        f"{PUBLIC_NAME} either: this machine cannot resolve public names"
    )
    assert "does not exist in DNS (NXDOMAIN)" not in step["detail"]
    # The CLI names its flag, with no doubled article.
    assert step["hint"] == PUBLIC_NXDOMAIN_HINT.replace("{dns_server}", "--nameserver")
    assert "(or set --nameserver)" in step["hint"] and "the --nameserver" not in step["hint"]
    assert (f"{PUBLIC_NAME}.", "A") in queries  # the public name was really asked
    text = out["text"]["stdout"]
    assert "this machine cannot resolve public names" in text
    assert "hint: This machine's DNS server does not know public Internet names" in text
    assert "or set --nameserver)" in text and "the the" not in text
    assert out["text"]["rc"] == 1


def test_a_resolver_that_knows_public_names_still_reports_a_missing_domain(tmp_path):
    out, queries = _cli_in_namespace(tmp_path, PUBLIC_A, "contoso.com")
    step = _addresses_step(out)
    assert step["detail"] == "contoso.com does not exist in DNS (NXDOMAIN)"
    assert step["hint"] == NXDOMAIN_HINT
    assert (f"{PUBLIC_NAME}.", "A") in queries
    # A domain that exists is never second-guessed: the public name is not asked.
    present = {**PUBLIC_A, "contoso.com.": [("A", "192.0.2.10")]}
    out, queries = _cli_in_namespace(tmp_path, present, "contoso.com")
    data = json.loads(out["json"]["stdout"])
    first = next(s for s in data["steps"] if s["name"] == ADDRESSES)
    assert first["status"] == "pass" and "192.0.2.10" in first["detail"]
    assert (f"{PUBLIC_NAME}.", "A") not in queries


def test_the_tenants_own_dns_server_is_taken_at_its_word():
    with dns_server({}) as (port, queries):
        result = probe_dns("contoso.com", nameserver="127.0.0.1", port=port, timeout=2)
    step = result.step(ADDRESSES)
    assert step.status == Status.FAIL
    assert step.detail == "contoso.com does not exist in DNS (NXDOMAIN)"
    assert step.hint == NXDOMAIN_HINT
    assert (f"{PUBLIC_NAME}.", "A") not in queries
