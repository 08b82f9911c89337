"""TLS probe: each certificate problem is its own named step."""

from __future__ import annotations

import datetime as dt

import pytest
from probe_certs import DAY, NOW, make_ca, make_leaf, server_context
from probe_servers import tls_server

from connectivity.probes.core import Status
from connectivity.probes.tls import CHAIN, NAME, VALIDITY, VERSION, probe_tls


def run(pki, leaf, *, send_chain=True, ca_file=None):
    ctx = server_context(leaf, pki.tmpdir, send_chain=send_chain)
    with tls_server(ctx) as port:
        return probe_tls("localhost", port, ca_file=ca_file or pki.ca_file, timeout=5)


def statuses(result):
    return {s.name: s.status for s in result.steps}


def test_valid_certificate_passes_every_step(pki):
    result = run(pki, pki.leaf("localhost"))
    assert result.ok, result.to_dict()
    assert all(s.status == Status.PASS for s in result.steps)
    assert "Contoso Test Root" in result.step(CHAIN).detail
    assert result.step(VERSION).detail.startswith("TLSv1.")


def test_expired_certificate_fails_validity_only(pki):
    leaf = pki.leaf(not_before=NOW - 90 * DAY, not_after=NOW - 2 * DAY)
    result = run(pki, leaf)
    assert not result.ok
    got = statuses(result)
    assert got[VALIDITY] == Status.FAIL and "expired" in result.step(VALIDITY).detail
    assert got[NAME] == Status.PASS and got[CHAIN] == Status.PASS
    assert result.step(VALIDITY).hint


def test_not_yet_valid_certificate(pki):
    result = run(pki, pki.leaf(not_before=NOW + 2 * DAY, not_after=NOW + 90 * DAY))
    step = result.step(VALIDITY)
    assert step.status == Status.FAIL
    assert "not yet valid" in step.detail
    assert "clock" in step.hint
    assert statuses(result)[CHAIN] == Status.PASS


def test_expiring_in_ten_days_warns_but_passes(pki):
    result = run(pki, pki.leaf(not_after=NOW + 10 * DAY + dt.timedelta(hours=2)))
    assert result.ok
    step = result.step(VALIDITY)
    assert step.status == Status.WARN
    assert "expires in 10 days" in step.detail
    assert step.hint


def test_wrong_name_is_a_name_mismatch(pki):
    result = run(pki, pki.leaf("mail.fabrikam.test"))
    got = statuses(result)
    assert got[NAME] == Status.FAIL
    assert "name mismatch" in result.step(NAME).detail
    assert "mail.fabrikam.test" in result.step(NAME).detail
    assert got[CHAIN] == Status.PASS and got[VALIDITY] == Status.PASS


def test_wildcard_name_matches_one_label(pki):
    ctx_leaf = pki.leaf("*.localhost")
    result = run(pki, ctx_leaf)
    # "localhost" itself is not covered by "*.localhost"
    assert result.step(NAME).status == Status.FAIL


def test_untrusted_ca(pki):
    rogue = make_ca("Rogue Root")
    result = run(pki, make_leaf(rogue, "localhost"))
    step = result.step(CHAIN)
    assert step.status == Status.FAIL
    assert step.detail.startswith("untrusted CA")
    assert "Rogue Root" in step.detail
    assert "{ca_file}" in step.hint
    assert statuses(result)[NAME] == Status.PASS


def test_missing_intermediate(pki):
    leaf = pki.leaf(aia="http://pki.contoso.test/issuing.crt")
    result = run(pki, leaf, send_chain=False)
    step = result.step(CHAIN)
    assert step.status == Status.FAIL
    assert step.detail.startswith("missing intermediate")
    assert "Contoso Test Issuing CA" in step.detail
    assert "intermediate" in step.hint


def test_missing_intermediate_found_in_ca_bundle(pki, tmp_path):
    from probe_certs import write_bundle

    bundle = write_bundle(str(tmp_path / "bundle.pem"), pki.root, pki.inter)
    result = run(pki, pki.leaf(), send_chain=False, ca_file=bundle)
    assert result.step(CHAIN).detail.startswith("missing intermediate")


def test_chain_sent_but_ending_at_an_untrusted_root(pki):
    rogue_root = make_ca("Rogue Root")
    rogue_issuing = make_ca("Rogue Issuing CA", rogue_root)
    result = run(pki, make_leaf(rogue_issuing, "localhost"))  # sends leaf + Rogue Issuing CA
    step = result.step(CHAIN)
    assert step.detail.startswith("untrusted CA")
    assert "Rogue Root" in step.detail and "2 certificates" in step.detail


def test_tls_to_a_plaintext_port_fails_handshake_and_skips(pki):
    import socket
    import threading

    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen()

    def serve():
        conn, _ = listener.accept()
        conn.sendall(b"220 plain smtp here\r\n")
        conn.recv(100)
        conn.close()

    threading.Thread(target=serve, daemon=True).start()
    result = probe_tls("127.0.0.1", listener.getsockname()[1], timeout=3)
    listener.close()
    got = statuses(result)
    assert got["TLS handshake"] == Status.FAIL
    assert got[NAME] == Status.SKIP and got[CHAIN] == Status.SKIP


@pytest.mark.parametrize("host", ["bad host", "x\r\nEHLO", ""])
def test_bad_host_rejected_before_io(host):
    from connectivity.probes.core import InvalidInput

    with pytest.raises(InvalidInput):
        probe_tls(host, 443)


def test_tls_1_1_is_reported_as_a_warning(pki):
    import ssl
    import warnings

    from probe_certs import server_context

    ctx = server_context(pki.leaf("localhost"), pki.tmpdir)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        ctx.minimum_version = ssl.TLSVersion.TLSv1
        ctx.maximum_version = ssl.TLSVersion.TLSv1_1
    ctx.set_ciphers("DEFAULT:@SECLEVEL=0")
    with tls_server(ctx) as port:
        result = probe_tls("localhost", port, ca_file=pki.ca_file, timeout=5)
    step = result.step(VERSION)
    if result.step("TLS handshake").status == Status.FAIL:
        pytest.skip("this OpenSSL build cannot speak TLS 1.1 at all")
    assert step.status == Status.WARN
    assert step.detail.startswith("TLSv1.1 negotiated")
    assert "TLS 1.2" in step.hint
    assert result.ok  # a warning, not a failure
