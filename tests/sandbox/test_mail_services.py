"""The sandbox's DNS responder and IMAP4/POP3 servers, spoken to by dnspython, imaplib, poplib
and the portal's own probes (the same code that tests a real Exchange)."""

import imaplib
import poplib
import smtplib
import ssl
import uuid

import dns.message
import dns.query
import dns.rcode
import dns.resolver
import pytest
import requests

from connectivity.probes import probe_dns, probe_imap, probe_pop3
from connectivity.sandbox.imap import IMAPServer
from connectivity.sandbox.pop3 import POP3Server


@pytest.fixture(scope="module")
def app_token(info):
    response = requests.post(
        info["token_url"], verify=info["ca_file"], timeout=10,
        data={"grant_type": "client_credentials", "client_id": info["app_client_id"],
              "client_secret": info["app_client_secret"], "scope": info["scope"]},
    )  # fmt: skip
    return response.json()["access_token"]


@pytest.fixture(scope="module")
def limited_token(info):
    response = requests.post(
        info["token_url"], verify=info["ca_file"], timeout=10,
        data={"grant_type": "client_credentials", "client_id": info["limited_client_id"],
              "client_secret": info["limited_client_secret"], "scope": info["scope"]},
    )  # fmt: skip
    return response.json()["access_token"]


def _tls(info):
    return ssl.create_default_context(cafile=info["ca_file"])


def _resolver(info):
    resolver = dns.resolver.Resolver(configure=False)
    resolver.nameservers, resolver.port, resolver.lifetime = ["127.0.0.1"], info["dns_port"], 3
    return resolver


# --- DNS ----------------------------------------------------------------------------------------


def test_dns_answers_the_exchange_records_of_its_domain(info):
    resolver, domain = _resolver(info), info["domain"]
    assert [r.address for r in resolver.resolve(domain, "A")] == ["127.0.0.1"]
    assert [r.exchange.to_text() for r in resolver.resolve(domain, "MX")] == [f"mail.{domain}."]
    srv = resolver.resolve(f"_autodiscover._tcp.{domain}", "SRV")[0]
    assert srv.port == int(info["ews_url"].split(":")[2].split("/")[0])
    cname = resolver.resolve(f"autodiscover.{domain}", "CNAME")[0]
    assert cname.target.to_text() == f"mail.{domain}."


def test_dns_nxdomain_inside_the_zone_and_refused_outside(info):
    resolver = _resolver(info)
    with pytest.raises(dns.resolver.NXDOMAIN):
        resolver.resolve(f"nobody.{info['domain']}", "A")
    query = dns.message.make_query("contoso.com", "A")
    answer = dns.query.udp(query, "127.0.0.1", port=info["dns_port"], timeout=3)
    assert answer.rcode() == dns.rcode.REFUSED


def test_dns_probe_passes_against_the_sandbox(info):
    result = probe_dns(info["domain"], nameserver="127.0.0.1", port=info["dns_port"], timeout=3)
    assert result.ok and all(s.status == "pass" for s in result.steps), result.to_dict()


# --- IMAP4 --------------------------------------------------------------------------------------


def test_imap_refuses_login_before_starttls_then_serves_the_inbox(info):
    mailbox = info["mailboxes"][0]
    with imaplib.IMAP4("127.0.0.1", info["imap_port"], timeout=10) as imap:
        assert "LOGINDISABLED" in imap.capabilities
        with pytest.raises(imaplib.IMAP4.error):
            imap.login(mailbox["address"], mailbox["password"])
        imap.starttls(_tls(info))  # verifies the certificate with the sandbox's CA
        assert "AUTH=XOAUTH2" in imap.capabilities
        assert imap.login(mailbox["address"], mailbox["password"])[0] == "OK"
        typ, data = imap.select("INBOX", readonly=True)
        assert typ == "OK" and int(data[0]) >= 0
        typ, data = imap.status("INBOX", "(MESSAGES)")
        assert typ == "OK" and b"MESSAGES" in data[0]


def test_imap_wrong_password_is_refused(info):
    mailbox = info["mailboxes"][0]
    with imaplib.IMAP4("127.0.0.1", info["imap_port"], timeout=10) as imap:
        imap.starttls(_tls(info))
        with pytest.raises(imaplib.IMAP4.error, match="LOGIN failed"):
            imap.login(mailbox["address"], "not-the-password")


def test_imap_probe_xoauth2_with_an_app_token(info, app_token):
    result = probe_imap("127.0.0.1", info["imap_port"], security="starttls",
                        username=info["mailboxes"][0]["address"], token=app_token,
                        ca_file=info["ca_file"], timeout=10)  # fmt: skip
    assert result.ok, result.to_dict()
    assert "XOAUTH2" in result.step("Authenticate").detail


def test_imap_probe_token_without_grant_is_refused_in_words(info, limited_token):
    result = probe_imap("127.0.0.1", info["imap_port"], security="starttls",
                        username=info["mailboxes"][0]["address"], token=limited_token,
                        ca_file=info["ca_file"], timeout=10)  # fmt: skip
    step = result.step("Authenticate")
    assert step.status == "fail" and "status 401" in step.detail and step.hint
    assert limited_token not in str(result.to_dict())


def test_imap_and_pop3_with_implicit_tls(sandbox, info):
    mailbox = info["mailboxes"][1]
    imap_server = IMAPServer(sandbox.sandbox, "127.0.0.1", implicit_tls=True)
    pop_server = POP3Server(sandbox.sandbox, "127.0.0.1", implicit_tls=True)
    imap_server.start()
    pop_server.start()
    try:
        kwargs = {
            "security": "tls",
            "username": mailbox["address"],
            "password": mailbox["password"],
            "ca_file": info["ca_file"],
            "timeout": 10,
        }
        imap = probe_imap("127.0.0.1", imap_server.port, **kwargs)
        pop = probe_pop3("127.0.0.1", pop_server.port, **kwargs)
    finally:
        imap_server.stop()
        pop_server.stop()
    assert imap.ok and pop.ok, (imap.to_dict(), pop.to_dict())


# --- POP3 ---------------------------------------------------------------------------------------


def test_pop3_counts_what_smtp_delivered(info, admin):
    address = f"pop-{uuid.uuid4().hex[:8]}@{info['domain']}"
    mailbox = admin.create_mailbox(address)

    with smtplib.SMTP("127.0.0.1", info["smtp_port"], timeout=10) as smtp:
        smtp.starttls(context=_tls(info))
        smtp.login(mailbox["address"], mailbox["password"])
        smtp.sendmail(address, [address], f"From: {address}\r\nSubject: hello\r\n\r\nbody\r\n")
    pop = poplib.POP3("127.0.0.1", info["pop3_port"], timeout=10)
    try:
        assert "STLS" in pop.capa()
        pop.stls(_tls(info))
        pop.user(mailbox["address"])
        pop.pass_(mailbox["password"])
        count, size = pop.stat()
        assert count == 1 and size > 0
        assert len(pop.list()[1]) == 1
    finally:
        pop.quit()


def test_pop3_probe_xoauth2_and_refusals(info, app_token, limited_token):
    address = info["mailboxes"][0]["address"]
    kwargs = {"security": "starttls", "username": address, "ca_file": info["ca_file"],
              "timeout": 10}  # fmt: skip
    ok = probe_pop3("127.0.0.1", info["pop3_port"], token=app_token, **kwargs)
    assert ok.ok and "XOAUTH2" in ok.step("Authenticate").detail, ok.to_dict()
    refused = probe_pop3("127.0.0.1", info["pop3_port"], token=limited_token, **kwargs)
    assert refused.step("Authenticate").status == "fail"
    assert "status 401" in refused.step("Authenticate").detail
    wrong = probe_pop3("127.0.0.1", info["pop3_port"], password="wrong", **kwargs)
    assert wrong.step("Authenticate").status == "fail"
    assert "login rejected" in wrong.step("Authenticate").detail
