"""Autodiscover probe against the Sandbox Exchange: the Analyzer's order, redirects, SRV."""

from __future__ import annotations

import contextlib
import http.server
import socket
import threading
from urllib.parse import urlsplit

import pytest
from probe_dnsserver import dns_server
from probe_servers import free_port

from connectivity.probes.autodiscover import (
    DIRECT,
    HOST,
    JSON_V2,
    REDIRECT,
    RESULT,
    ROOT,
    SOAP,
    SRV,
    probe_autodiscover,
)
from connectivity.probes.core import Status


def resolver_for(*names):
    def resolve(host, port):
        if host in names:
            return ["127.0.0.1"]
        raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")

    return resolve


@contextlib.contextmanager
def redirect_server(location: str):
    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self):  # noqa: N802
            self.send_response(302)
            self.send_header("Location", location)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, *args):
            pass

    server = http.server.HTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield server.server_address[1]
    finally:
        server.shutdown()
        server.server_close()


@pytest.fixture
def mailbox(sandbox):
    mb = sandbox["mailboxes"][0]
    port = urlsplit(sandbox["ews_url"]).port
    return {
        "email": mb["address"],
        "username": mb["address"],
        "password": mb["password"],
        "ca_file": sandbox["ca_file"],
        "timeout": 5,
        "port": port,
    }


def run(mailbox, **kw):
    args = {k: v for k, v in mailbox.items() if k != "port"}
    args.update(kw)
    return probe_autodiscover(args.pop("email"), **args)


def statuses(result):
    return {s.name: s.status for s in result.steps}


def test_root_domain_answers_first(mailbox, sandbox):
    result = run(mailbox, resolver=resolver_for("sandbox.test"), https_port=mailbox["port"])
    assert result.ok, result.to_dict()
    got = statuses(result)
    assert got[ROOT] == Status.PASS
    assert got[HOST] == got[REDIRECT] == got[SRV] == Status.SKIP
    assert sandbox["ews_url"] in result.step(RESULT).detail
    assert "MAPI URL" in result.step(RESULT).detail
    assert "ExternalEwsUrl=" in result.step(SOAP).detail
    assert result.step(JSON_V2).detail.endswith(sandbox["ews_url"])
    assert mailbox["password"] not in str(result.to_dict())


def test_autodiscover_host_after_root_fails(mailbox):
    result = run(
        mailbox, resolver=resolver_for("autodiscover.sandbox.test"), https_port=mailbox["port"]
    )
    got = statuses(result)
    assert got[ROOT] == Status.WARN
    assert "sandbox.test does not exist in DNS" in result.step(ROOT).detail
    assert got[HOST] == Status.PASS and result.ok


def test_http_redirect_chain_is_shown(mailbox):
    target = f"https://mail.sandbox.test:{mailbox['port']}/autodiscover/autodiscover.xml"
    with redirect_server(target) as http_port:
        result = run(
            mailbox,
            resolver=resolver_for("sandbox.test", "autodiscover.sandbox.test", "mail.sandbox.test"),
            https_port=free_port(),  # nothing listens: root and autodiscover. host fail
            http_port=http_port,
        )
    got = statuses(result)
    assert got[ROOT] == got[HOST] == Status.WARN
    assert "connection refused" in result.step(HOST).detail
    assert got[REDIRECT] == Status.PASS, result.to_dict()
    detail = result.step(REDIRECT).detail
    assert detail.startswith(f"GET http://autodiscover.sandbox.test:{http_port}/")
    assert f"302 → {target}" in detail and f"POST {target}: 200" in detail
    assert got[SRV] == Status.SKIP and result.ok


def test_redirect_to_plain_http_is_refused(mailbox):
    with redirect_server("http://evil.test/autodiscover/autodiscover.xml") as http_port:
        result = run(
            mailbox,
            resolver=resolver_for("autodiscover.sandbox.test"),
            https_port=free_port(),
            http_port=http_port,
            nameserver="127.0.0.1",
            dns_port=free_port(),
            timeout=1,
        )
    assert "non-HTTPS" in result.step(REDIRECT).detail
    assert result.step(RESULT).status == Status.FAIL
    assert not result.ok


def test_srv_record_is_the_last_resort(mailbox):
    srv = f"0 0 {mailbox['port']} mail.sandbox.test."
    records = {"_autodiscover._tcp.sandbox.test.": [("SRV", srv)]}
    with dns_server(records) as (dns_port, _):
        result = run(
            mailbox,
            resolver=resolver_for("mail.sandbox.test"),
            https_port=free_port(),
            http_port=free_port(),
            nameserver="127.0.0.1",
            dns_port=dns_port,
        )
    got = statuses(result)
    assert got[ROOT] == got[HOST] == got[REDIRECT] == Status.WARN
    assert got[SRV] == Status.PASS, result.to_dict()
    assert result.step(SRV).detail.startswith("SRV _autodiscover._tcp.sandbox.test → mail")
    assert result.ok


def test_nothing_found_fails_with_hint(mailbox):
    with dns_server({}) as (dns_port, _):
        result = run(mailbox, resolver=resolver_for(), nameserver="127.0.0.1", dns_port=dns_port)
    assert [s.status for s in result.steps[:4]] == [Status.WARN] * 4
    assert "no SRV record" in result.step(SRV).detail
    step = result.step(RESULT)
    assert step.status == Status.FAIL and "autodiscover.<domain>" in step.hint
    assert statuses(result)[SOAP] == Status.SKIP


def test_wrong_password_is_401_with_hint(mailbox, sandbox):
    result = run(mailbox, url=sandbox["autodiscover_pox_url"], password="not-the-password")
    step = result.step(DIRECT)
    assert step.status == Status.FAIL
    assert "401" in step.detail and "credential" in step.hint
    assert "not-the-password" not in str(result.to_dict())


def test_bearer_token_from_the_sandbox(mailbox, sandbox):
    from connectivity.ews import fetch_token

    token = fetch_token(
        sandbox["token_url"], sandbox["app_client_id"], sandbox["app_client_secret"],
        ca_file=sandbox["ca_file"], timeout=5,
    )["access_token"]  # fmt: skip
    result = run(
        mailbox, url=sandbox["autodiscover_pox_url"], username=None, password=None, token=token
    )
    assert result.ok, result.to_dict()
    assert token not in str(result.to_dict())
