"""NTLM (and Basic) against the sandbox's EWS in Exchange Server style: unmodified exchangelib
with auth_type NTLM (requests_ntlm / pyspnego as the client), verified server-side as NTLMv2
against the mailbox password."""

import base64
import struct

import pytest
import requests
from exchangelib import NTLM, Account, Configuration, Credentials, Message
from exchangelib.errors import UnauthorizedError
from requests_ntlm import HttpNtlmAuth

from connectivity import ews

from .conftest import GET_INBOX, soap


def _account(info, username, password, address):
    ews.trust_ca(info["ews_url"], info["ca_file"])
    config = Configuration(
        service_endpoint=info["ews_url"],
        credentials=Credentials(username, password),
        auth_type=NTLM,
        retry_policy=ews.FailFast(),
    )
    return Account(address, config=config, autodiscover=False, access_type="delegate")


@pytest.fixture
def mailbox(new_mailbox):
    return new_mailbox("ntlm", password="Corr3ct-Horse!")


def _envelope() -> bytes:
    return (
        '<?xml version="1.0" encoding="utf-8"?><s:Envelope '
        'xmlns:s="http://schemas.xmlsoap.org/soap/envelope/" '
        'xmlns:m="http://schemas.microsoft.com/exchange/services/2006/messages" '
        'xmlns:t="http://schemas.microsoft.com/exchange/services/2006/types">'
        f"<s:Body>{GET_INBOX}</s:Body></s:Envelope>"
    ).encode()


@pytest.mark.parametrize("form", ["upn", "domain"])
def test_exchangelib_with_ntlm_reads_and_writes_the_mailbox(info, mailbox, form):
    address = mailbox["address"]
    username = address if form == "upn" else f"SANDBOX\\{address.split('@')[0]}"
    account = _account(info, username, mailbox["password"], address)
    try:
        inbox = account.inbox
        inbox.refresh()
        assert inbox.name == "Inbox"
        Message(account=account, folder=account.drafts, subject="over NTLM").save()
        assert [m.subject for m in account.drafts.all()] == ["over NTLM"]
    finally:
        account.protocol.close()


def test_exchangelib_with_a_wrong_ntlm_password_is_refused(info, mailbox):
    account = _account(info, mailbox["address"], "wrong-password", mailbox["address"])
    with pytest.raises(UnauthorizedError):
        account.inbox.refresh()


def test_ntlm_handshake_on_the_wire(info, mailbox):
    """Anonymous → 401 offering NTLM; NEGOTIATE → 401 with a CHALLENGE; AUTHENTICATE → 200,
    and the connection stays authenticated for the next request (IIS behaviour)."""
    with requests.Session() as session:
        session.auth = HttpNtlmAuth(mailbox["address"], mailbox["password"])
        headers = {"Content-Type": "text/xml; charset=utf-8"}
        resp = session.post(
            info["ews_url"], data=_envelope(), headers=headers, timeout=20, verify=info["ca_file"]
        )
        assert resp.status_code == 200, resp.text
        first, second = resp.history
        assert first.status_code == 401 and "NTLM" in first.headers["WWW-Authenticate"]
        challenge = second.headers["WWW-Authenticate"]
        assert second.status_code == 401 and challenge.startswith("NTLM ")
        token = base64.b64decode(challenge[5:])
        assert token.startswith(b"NTLMSSP\x00") and struct.unpack_from("<I", token, 8) == (2,)
        again = session.post(
            info["ews_url"], data=_envelope(), headers=headers, timeout=20, verify=info["ca_file"]
        )
        assert again.status_code == 200 and not again.history


def test_garbage_ntlm_tokens_are_refused_with_401(info):
    for token in ("!!!", base64.b64encode(b"NTLMSSP\x00\x03\x00\x00\x00").decode(), "AAAA"):
        resp = requests.post(
            info["ews_url"], data=_envelope(), verify=info["ca_file"], timeout=20,
            headers={"Authorization": f"NTLM {token}", "Content-Type": "text/xml"},
        )  # fmt: skip
        assert resp.status_code == 401


def test_basic_still_works_next_to_ntlm(info, mailbox):
    resp = requests.post(
        info["ews_url"], data=_envelope(), verify=info["ca_file"], timeout=20,
        auth=(mailbox["address"], mailbox["password"]), headers={"Content-Type": "text/xml"},
    )  # fmt: skip
    assert resp.status_code == 200
    anonymous = soap(info, None, GET_INBOX)
    assert anonymous.status_code == 401
    offered = [
        v.split(" ")[0] for k, v in anonymous.raw.headers.items() if k.lower() == "www-authenticate"
    ]
    assert {"Bearer", "Basic", "NTLM"} <= set(offered)
