"""MAPI over HTTP probe against the Sandbox Exchange."""

from __future__ import annotations

from connectivity.probes.core import Status
from connectivity.probes.mapi import CHALLENGE, CONNECT, DISCONNECT, DISCOVERY, PING, probe_mapi


def creds(sandbox, **kw):
    mb = sandbox["mailboxes"][0]
    args = {"username": mb["address"], "password": mb["password"],
            "ca_file": sandbox["ca_file"], "timeout": 5}  # fmt: skip
    args.update(kw)
    return mb["address"], args


def test_discovery_challenge_ping_connect_disconnect(sandbox):
    email, args = creds(sandbox)
    result = probe_mapi(email, autodiscover_url=sandbox["autodiscover_pox_url"], **args)
    assert result.ok, result.to_dict()
    assert "/mapi/emsmdb/?MailboxId=" in result.step(DISCOVERY).detail
    assert result.step(CHALLENGE).detail.startswith("401 with WWW-Authenticate: Bearer, Basic")
    assert "X-ResponseCode 0" in result.step(PING).detail
    assert "MapiContext" in result.step(CONNECT).detail
    assert result.step(DISCONNECT).status == Status.PASS
    assert result.step("Certificate chain").status == Status.PASS
    assert args["password"] not in str(result.to_dict())


def test_given_url_skips_discovery(sandbox):
    email, args = creds(sandbox)
    result = probe_mapi(email, url=sandbox["mapi_url"], **args)
    assert result.ok, result.to_dict()
    assert result.step(DISCOVERY).status == Status.SKIP


def test_wrong_password_fails_ping_with_hint(sandbox):
    email, args = creds(sandbox, password="definitely-wrong")
    result = probe_mapi(email, url=sandbox["mapi_url"], **args)
    assert result.step(CHALLENGE).status == Status.PASS
    ping = result.step(PING)
    assert ping.status == Status.FAIL and "401" in ping.detail and ping.hint
    assert result.step(CONNECT).status == Status.SKIP
    assert "definitely-wrong" not in str(result.to_dict())


def test_untrusted_certificate_withholds_credential(sandbox):
    email, args = creds(sandbox, ca_file=None)  # system trust store: sandbox CA unknown
    result = probe_mapi(email, url=sandbox["mapi_url"], **args)
    assert result.step("Certificate chain").status == Status.FAIL
    assert result.step(PING).detail.startswith("credential not sent")
