"""NTLM for the Autodiscover and MAPI probes.

`python -m connectivity autodiscover|mapi --auth ntlm|basic` runs as a subprocess against the
sandbox started the way other tools start it (tests/connectivity/conftest.py); the sandbox's
logon counters show which scheme went out, and its ``windows_auth`` knob turns NTLM off the way
an Exchange admin turns Windows authentication off on a virtual directory.  Servers that break
the handshake in other ways (a proxy closing the connection, a garbled challenge) are small real
HTTPS servers here.
"""

from __future__ import annotations

import base64
import contextlib
import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from probe_certs import server_context
from test_probe_cli import cli

from connectivity.netguard import AddressRefused
from connectivity.probes.core import Status
from connectivity.probes.http import Client, Ntlm
from connectivity.probes.mapi import CHALLENGE, PING, probe_mapi
from connectivity.sandbox.client import AdminClient


@pytest.fixture
def admin(sandbox):
    client = AdminClient(sandbox["admin_url"], sandbox["admin_token"], sandbox["ca_file"], 10)
    yield client
    client.set_knobs(windows_auth=True)  # the sandbox is shared by the whole session
    client.close()


@pytest.fixture
def logons(admin):
    def read():
        stats = admin.state()["stats"]
        return stats["ntlm_logons"], stats["basic_logons"]

    return read


def _run(sandbox, probe, password, *extra):
    mb = sandbox["mailboxes"][0]
    url = sandbox["autodiscover_pox_url"] if probe == "autodiscover" else sandbox["mapi_url"]
    return cli(
        probe, "--url", url, "--mailbox", mb["address"], "--username", mb["address"],
        "--password-env", "MB_PW", "--ca-file", sandbox["ca_file"], "--timeout", "10", "--json",
        *extra, env={"MB_PW": password},
    )  # fmt: skip


@pytest.mark.parametrize("probe", ["autodiscover", "mapi"])
@pytest.mark.parametrize(("flags", "scheme"), [((), "basic"), (("--auth", "basic"), "basic"),
                                               (("--auth", "ntlm"), "ntlm")])  # fmt: skip
def test_cli_signs_in_with_the_chosen_scheme(sandbox, logons, probe, flags, scheme):
    ntlm_before, basic_before = logons()
    proc = _run(sandbox, probe, sandbox["mailboxes"][0]["password"], *flags)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    data = json.loads(proc.stdout)
    assert set(data) == {"probe", "target", "ok", "steps"}
    assert data["probe"] == probe and data["ok"] is True
    ntlm_after, basic_after = logons()
    if scheme == "ntlm":
        assert ntlm_after > ntlm_before and basic_after == basic_before
        assert "signed in with NTLM" in proc.stdout
    else:
        assert basic_after > basic_before and ntlm_after == ntlm_before
        assert "signed in with NTLM" not in proc.stdout


@pytest.mark.parametrize("probe", ["autodiscover", "mapi"])
def test_cli_ntlm_with_a_wrong_password_exits_1_in_words(sandbox, logons, probe):
    before = logons()
    proc = _run(sandbox, probe, "wrong-pw-789", "--auth", "ntlm")
    assert proc.returncode == 1, proc.stdout + proc.stderr
    data = json.loads(proc.stdout)
    failed = [step for step in data["steps"] if step["status"] == "fail"]
    assert not data["ok"] and "401 Unauthorized" in failed[0]["detail"], failed
    assert "refused the NTLM sign-in" in failed[0]["hint"]
    assert "wrong-pw-789" not in proc.stdout + proc.stderr
    assert logons() == before


@pytest.mark.parametrize("probe", ["autodiscover", "mapi"])
def test_cli_ntlm_against_a_server_offering_only_basic_says_so(sandbox, admin, logons, probe):
    admin.set_knobs(windows_auth=False)
    before = logons()
    proc = _run(sandbox, probe, sandbox["mailboxes"][0]["password"], "--auth", "ntlm")
    assert proc.returncode == 1, proc.stdout + proc.stderr
    failed = [step for step in json.loads(proc.stdout)["steps"] if step["status"] == "fail"]
    assert "does not offer NTLM (it offers: Bearer, Basic)" in failed[0]["detail"], failed
    # The command line names its own flag where the portal names the tenant's field.
    assert failed[0]["hint"].endswith("or choose Basic with --auth."), failed[0]["hint"]
    assert "Windows authentication" in failed[0]["hint"]
    assert logons() == before


@pytest.mark.parametrize("probe", ["autodiscover", "mapi"])
def test_cli_ntlm_with_a_token_is_a_usage_error(sandbox, probe):
    proc = _run(sandbox, probe, "unused", "--auth", "ntlm", "--token-env", "MB_PW")
    assert proc.returncode == 2, proc.stdout + proc.stderr
    assert "NTLM signs in with a user name and password, not a token" in proc.stderr
    assert proc.stdout == ""


@pytest.mark.parametrize("address", ["169.254.169.254", "[fd00:ec2::254]"])
def test_an_ntlm_request_is_vetted_like_any_other(address):
    # The handshake's connection comes from the same pinned, vetted connect: a metadata
    # address is refused before any packet (and any credential) goes out.
    with pytest.raises(AddressRefused):
        Client(timeout=2).request("POST", f"https://{address}/mapi/emsmdb/", body=b"",
                                  ntlm=Ntlm("user1@sandbox.test", "pw"))  # fmt: skip


class _BrokenNtlm(BaseHTTPRequestHandler):
    """Offers NTLM, then breaks the handshake the way ``mode`` says."""

    protocol_version = "HTTP/1.1"
    mode = ""

    def do_POST(self):  # noqa: N802 - http.server naming
        self.rfile.read(int(self.headers.get("Content-Length") or 0))
        negotiate = self.headers.get("Authorization", "").startswith("NTLM ")
        offer = "NTLM"
        if negotiate and self.mode == "garbled":
            offer = "NTLM " + base64.b64encode(b"not an NTLM challenge").decode()
        elif negotiate and self.mode == "closes":
            offer = "NTLM " + base64.b64encode(b"NTLMSSP\0\2\0\0\0" + bytes(40)).decode()
        self.send_response(401)
        self.send_header("WWW-Authenticate", offer)
        self.send_header("Content-Length", "0")
        if negotiate and self.mode == "closes":  # a proxy that does not keep connections
            self.send_header("Connection", "close")
            self.close_connection = True
        self.end_headers()

    def log_message(self, *args):
        pass


@contextlib.contextmanager
def _broken_server(pki, mode):
    handler = type("Handler", (_BrokenNtlm,), {"mode": mode})
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    ctx = server_context(pki.leaf("localhost", "127.0.0.1"), pki.tmpdir)
    server.socket = ctx.wrap_socket(server.socket, server_side=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"https://127.0.0.1:{server.server_address[1]}/mapi/emsmdb/"
    finally:
        server.shutdown()
        server.server_close()


@pytest.mark.parametrize(
    ("mode", "words"),
    [
        ("bare", "the server offers NTLM but answered the NTLM negotiate without a challenge"),
        ("garbled", "the server's NTLM challenge is unusable"),
        ("closes", "the server closed the connection after the NTLM challenge"),
    ],
)
def test_a_broken_ntlm_handshake_fails_the_step_in_words(pki, mode, words):
    with _broken_server(pki, mode) as url:
        result = probe_mapi("user1@contoso.test", url=url, username="user1@contoso.test",
                            password="S3cret-Pa55!", ca_file=pki.ca_file, timeout=5,
                            auth="ntlm")  # fmt: skip
    assert result.step(CHALLENGE).status == Status.PASS  # it does offer NTLM
    ping = result.step(PING)
    assert ping.status == Status.FAIL and words in ping.detail, ping
    assert ping.hint and "Traceback" not in ping.detail
    assert "S3cret-Pa55!" not in str(result.to_dict())
