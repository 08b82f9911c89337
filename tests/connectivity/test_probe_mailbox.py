"""IMAP4 and POP3 probes against a real Dovecot on loopback (TLS and STARTTLS)."""

from __future__ import annotations

import time

import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from probe_dovecot import MAIL_PASSWORD, MAIL_USER, OAUTH_ISSUER, dovecot

from connectivity.probes.core import Status
from connectivity.probes.imap import probe_imap
from connectivity.probes.pop3 import probe_pop3


@pytest.fixture(scope="module")
def mailserver(pki):
    leaf = pki.leaf("localhost")
    with dovecot(leaf.pem() + pki.inter.pem(), leaf.key_pem()) as ports:
        yield ports


def names(result):
    return [s.name for s in result.steps]


def assert_no_secret(result):
    assert MAIL_PASSWORD not in str(result.to_dict())


@pytest.mark.parametrize("security", ["tls", "starttls"])
def test_imap_login_and_select(mailserver, pki, security):
    port = mailserver["imaps" if security == "tls" else "imap"]
    result = probe_imap(
        "localhost", port, security=security, username=MAIL_USER, password=MAIL_PASSWORD,
        ca_file=pki.ca_file, timeout=5,
    )  # fmt: skip
    assert result.ok, result.to_dict()
    assert "Dovecot" in result.step("Greeting").detail
    assert "after TLS" in result.step("Capabilities").detail
    assert "IMAP4REV1" in result.step("Capabilities").detail
    assert result.step("Authenticate").detail.startswith("LOGIN as carol")
    assert result.step("Select INBOX").detail.startswith("INBOX: 0 messages")
    if security == "starttls":
        assert names(result)[3:5] == ["STARTTLS", "TLS protocol version"]
    assert_no_secret(result)


def test_imap_authenticate_plain(mailserver, pki):
    result = probe_imap(
        "localhost", mailserver["imaps"], username=MAIL_USER, password=MAIL_PASSWORD,
        auth_method="plain", ca_file=pki.ca_file, timeout=5,
    )  # fmt: skip
    assert result.ok, result.to_dict()
    assert result.step("Authenticate").detail.startswith("PLAIN")


@pytest.mark.parametrize("security", ["tls", "starttls"])
def test_imap_wrong_password(mailserver, pki, security):
    port = mailserver["imaps" if security == "tls" else "imap"]
    result = probe_imap(
        "localhost", port, security=security, username=MAIL_USER, password="nope-wrong",
        ca_file=pki.ca_file, timeout=5,
    )  # fmt: skip
    step = result.step("Authenticate")
    assert step.status == Status.FAIL
    assert "AUTHENTICATIONFAILED" in step.detail
    assert "XOAUTH2" in step.hint
    assert result.step("Select INBOX").status == Status.SKIP
    assert "nope-wrong" not in str(result.to_dict())


def test_imap_xoauth2_not_offered_is_explained(mailserver, pki):
    result = probe_imap(
        "localhost", mailserver["imaps"], username=MAIL_USER, token="tok-123",
        ca_file=pki.ca_file, timeout=5,
    )  # fmt: skip
    step = result.step("Authenticate")
    assert step.status == Status.FAIL and "XOAUTH2" in step.detail


def test_imap_capabilities_only_without_credentials(mailserver, pki):
    result = probe_imap("localhost", mailserver["imaps"], ca_file=pki.ca_file, timeout=5)
    assert result.ok
    assert names(result)[-1] == "Capabilities"


def test_imap_untrusted_certificate_withholds_password(mailserver):
    # default trust store: the test CA is not in it
    result = probe_imap(
        "localhost", mailserver["imaps"], username=MAIL_USER, password=MAIL_PASSWORD, timeout=5
    )
    assert result.step("Certificate chain").status == Status.FAIL
    assert result.step("Authenticate").detail.startswith("credential not sent")


@pytest.mark.parametrize("security", ["tls", "starttls"])
def test_pop3_login_and_stat(mailserver, pki, security):
    port = mailserver["pop3s" if security == "tls" else "pop3"]
    result = probe_pop3(
        "localhost", port, security=security, username=MAIL_USER, password=MAIL_PASSWORD,
        ca_file=pki.ca_file, timeout=5,
    )  # fmt: skip
    assert result.ok, result.to_dict()
    assert result.step("Greeting").detail.startswith("+OK")
    assert "USER" in result.step("Capabilities").detail
    assert result.step("STAT").detail == "0 messages, 0 bytes"
    if security == "starttls":
        assert result.step("STARTTLS").status == Status.PASS
    assert_no_secret(result)


@pytest.mark.parametrize("security", ["tls", "starttls"])
def test_pop3_wrong_password(mailserver, pki, security):
    port = mailserver["pop3s" if security == "tls" else "pop3"]
    result = probe_pop3(
        "localhost", port, security=security, username=MAIL_USER, password="nope-wrong",
        ca_file=pki.ca_file, timeout=5,
    )  # fmt: skip
    step = result.step("Authenticate")
    assert step.status == Status.FAIL
    assert "-ERR" in step.detail
    assert step.hint
    assert result.step("STAT").status == Status.SKIP


# --- XOAUTH2 against a Dovecot that validates bearer tokens itself -------------------------


@pytest.fixture(scope="module")
def oauth_key():
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


@pytest.fixture(scope="module")
def oauth_mailserver(pki, oauth_key):
    leaf = pki.leaf("localhost")
    public_pem = oauth_key.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    with dovecot(leaf.pem() + pki.inter.pem(), leaf.key_pem(), public_pem) as ports:
        yield ports


def _token(key, *, sub=MAIL_USER, lifetime=600, issuer=OAUTH_ISSUER) -> str:
    now = int(time.time())
    claims = {"iss": issuer, "sub": sub, "iat": now - 5, "nbf": now - 5, "exp": now + lifetime}
    return jwt.encode(claims, key, algorithm="RS256")


@pytest.mark.parametrize("security", ["tls", "starttls"])
@pytest.mark.parametrize(
    ("probe", "ports", "last_step"),
    [(probe_imap, ("imaps", "imap"), "Select INBOX"), (probe_pop3, ("pop3s", "pop3"), "STAT")],
    ids=["imap", "pop3"],
)
def test_xoauth2_with_a_valid_token(
    oauth_mailserver, oauth_key, pki, security, probe, ports, last_step
):
    token = _token(oauth_key)
    result = probe(
        "localhost", oauth_mailserver[ports[0] if security == "tls" else ports[1]],
        security=security, username=MAIL_USER, token=token, ca_file=pki.ca_file, timeout=5,
    )  # fmt: skip
    assert result.ok, result.to_dict()
    assert result.step("Authenticate").detail.startswith("XOAUTH2")
    assert result.step(last_step).status == Status.PASS
    assert token not in str(result.to_dict())


@pytest.mark.parametrize(
    "bad",
    [
        pytest.param({"lifetime": -60}, id="expired"),
        pytest.param({"sub": "mallory@contoso.test"}, id="other-user"),
        pytest.param({"issuer": "https://evil.test/"}, id="wrong-issuer"),
    ],
)
def test_imap_and_pop3_xoauth2_refused_tokens_fail_with_a_hint(
    oauth_mailserver, oauth_key, pki, bad
):
    token = _token(oauth_key, **bad)
    for probe, port in ((probe_imap, "imaps"), (probe_pop3, "pop3s")):
        result = probe(
            "localhost", oauth_mailserver[port], username=MAIL_USER, token=token,
            ca_file=pki.ca_file, timeout=5,
        )  # fmt: skip
        step = result.step("Authenticate")
        assert step.status == Status.FAIL, (probe.__name__, result.to_dict())
        assert step.detail.startswith(f"XOAUTH2 as {MAIL_USER} refused: status 401"), step.detail
        assert "IMAP.AccessAsApp" in step.hint
        assert result.steps[-1].status == Status.SKIP  # nothing runs on a refused session
        assert token not in str(result.to_dict())
