"""The engine's fan-out: probes in worker processes give the same results as in threads.

Real peers only: aiosmtpd for SMTP, Dovecot for IMAP4/POP3, loopback listeners for the bound.
"""

from __future__ import annotations

import os
import re
import socket
import threading
import time

import pytest
from probe_certs import make_ca, server_context, write_bundle
from probe_dovecot import MAIL_PASSWORD, MAIL_USER, dovecot
from probe_servers import PASSWORD, USER, smtp_server, tls_server

from connectivity import fanout
from connectivity.probes import probe_imap, probe_pop3, probe_smtp, probe_tcp, probe_tls
from connectivity.probes.core import InvalidInput, Status
from connectivity.tlspolicy import verification_off


@pytest.fixture(scope="module")
def pool():
    pool = fanout.ProbePool(4, processes=2)
    assert pool.wait_ready(30), "the worker processes did not start"
    yield pool
    pool.close(wait=5)


@pytest.fixture(scope="module")
def server_ctx(pki):
    return server_context(pki.leaf("localhost"), pki.tmpdir)


@pytest.fixture(scope="module")
def mailserver(pki):
    leaf = pki.leaf("localhost")
    with dovecot(leaf.pem() + pki.inter.pem(), leaf.key_pem()) as ports:
        yield ports


def comparable(steps) -> list[dict]:
    """Steps as the portal stores them, without timings and the per-message id."""
    out = []
    for step in steps:
        data = step.to_dict(messages=True)
        data.pop("ms")
        out.append(re.sub(r"<[^<>@ ]+@exchange-interop\.invalid>", "<id>", repr(data)))
    return out


def both_ways(pool, func, kwargs):
    """(in this thread, through a worker) with the steps each streamed to on_step."""
    here, there, threads = [], [], set()

    def collect(step):
        there.append(step)
        threads.add(threading.get_ident())

    local = func(**kwargs, on_step=here.append)
    sent = pool.sent
    remote = pool.call(func, kwargs, on_step=collect)
    assert pool.sent == sent + 1, "the probe did not go to a worker process"
    assert threads == {threading.get_ident()}  # steps arrive in the calling thread
    assert comparable(there) == comparable(remote.steps)
    return local, remote, comparable(here)


def test_smtp_results_are_the_same_in_a_worker_process(pool, pki, server_ctx):
    kwargs = {"host": "localhost", "security": "starttls", "username": USER,
              "password": PASSWORD, "auth_method": "plain", "mail_from": USER,
              "rcpt_to": "bob@contoso.test", "ca_file": pki.ca_file, "timeout": 5}  # fmt: skip
    with smtp_server(tls_context=server_ctx) as (port, handler):
        local, remote, streamed = both_ways(pool, probe_smtp, {**kwargs, "port": port})
    assert remote.ok and local.to_dict()["ok"] == remote.to_dict()["ok"]
    assert comparable(remote.steps) == comparable(local.steps) == streamed
    assert (remote.probe, remote.target) == (local.probe, local.target)
    assert handler.credentials == [(USER, PASSWORD)] * 2 and len(handler.messages) == 2
    # translatable sentences survive the trip (the portal translates them at render)
    assert remote.step("Send test message").to_dict(messages=True)["detail_msg"]["text"] == (
        "accepted as %(message_id)s: %(reply)s"
    )


@pytest.mark.parametrize("security", ["tls", "starttls"])
def test_imap_and_pop3_results_are_the_same_in_a_worker_process(pool, pki, mailserver, security):
    for func, port in (
        (probe_imap, mailserver["imaps" if security == "tls" else "imap"]),
        (probe_pop3, mailserver["pop3s" if security == "tls" else "pop3"]),
    ):
        kwargs = {"host": "localhost", "port": port, "security": security,
                  "username": MAIL_USER, "password": MAIL_PASSWORD, "ca_file": pki.ca_file,
                  "timeout": 5}  # fmt: skip
        local, remote, streamed = both_ways(pool, func, kwargs)
        assert remote.ok, remote.to_dict()
        assert comparable(remote.steps) == comparable(local.steps) == streamed
        assert MAIL_PASSWORD not in str(remote.to_dict())


def test_a_wrong_password_fails_the_same_way_and_never_shows_it(pool, pki, server_ctx):
    kwargs = {"host": "localhost", "username": USER, "password": "wrong-" + PASSWORD,
              "ca_file": pki.ca_file, "timeout": 5}  # fmt: skip
    with smtp_server(tls_context=server_ctx) as (port, _):
        local, remote, _ = both_ways(pool, probe_smtp, {**kwargs, "port": port})
    assert remote.step("Authenticate").status == Status.FAIL
    assert comparable(remote.steps) == comparable(local.steps)
    assert PASSWORD not in str(remote.to_dict())
    for worker in pool.workers:  # credentials go over the pipe, never on a command line
        with open(f"/proc/{worker.proc.pid}/cmdline", "rb") as fh:
            assert PASSWORD.encode() not in fh.read()


def test_verification_turned_off_travels_with_the_probe(pool, pki, server_ctx, tmp_path):
    other = write_bundle(str(tmp_path / "other.pem"), make_ca("Someone Else"))
    with tls_server(server_ctx) as port:
        kwargs = {"host": "localhost", "port": port, "ca_file": other, "timeout": 5}
        with verification_off():
            local, remote, _ = both_ways(pool, probe_tls, kwargs)
        enforced = pool.call(probe_tls, kwargs)
    assert remote.step("Certificate chain").status == Status.WARN
    assert comparable(remote.steps) == comparable(local.steps)
    assert enforced.step("Certificate chain").status == Status.FAIL


def test_bad_input_is_refused_in_the_caller_as_before(pool):
    with pytest.raises(InvalidInput, match="must not contain CR, LF"):
        pool.call(probe_smtp, {"host": "localhost", "port": 25, "mail_from": "a@b.test",
                               "rcpt_to": "c@d.test", "subject": "hi\r\nBcc: x@y"})  # fmt: skip


def test_a_probe_only_this_process_can_run_stays_here(pool):
    def resolver(host, port):  # an object the worker cannot receive
        return ["127.0.0.1"]

    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(4)
    try:
        sent = pool.sent
        port = listener.getsockname()[1]
        result = pool.call(probe_tcp, {"host": "db.contoso.test", "port": port,
                                       "resolver": resolver, "timeout": 5})  # fmt: skip
    finally:
        listener.close()
    assert result.ok and pool.sent == sent
    assert "db.contoso.test → 127.0.0.1" in result.step("Resolve host").detail


class SlowBanner:
    """Accepts SMTP connections, answers 554 after ``hold`` seconds; counts who is connected."""

    def __init__(self, hold: float) -> None:
        self.hold, self.now, self.peak, self.seen = hold, 0, 0, 0
        self.lock = threading.Lock()
        self.listener = socket.socket()
        self.listener.bind(("127.0.0.1", 0))
        self.listener.listen(64)
        self.port = self.listener.getsockname()[1]
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        while True:
            try:
                conn, _ = self.listener.accept()
            except OSError:
                return
            threading.Thread(target=self._serve, args=(conn,), daemon=True).start()

    def _serve(self, conn: socket.socket) -> None:
        with self.lock:
            self.now += 1
            self.seen += 1
            self.peak = max(self.peak, self.now)
        try:
            time.sleep(self.hold)
            conn.sendall(b"554 5.3.2 not now\r\n")
            conn.recv(1024)
        except OSError:
            pass
        finally:
            with self.lock:
                self.now -= 1
            conn.close()


def test_fan_out_keeps_the_bound_and_the_order(pool):
    server = SlowBanner(hold=0.2)
    try:
        calls = [(probe_smtp, {"host": "127.0.0.1", "port": server.port, "security": "none",
                               "timeout": 5}) for _ in range(12)]  # fmt: skip
        calls.insert(5, (probe_smtp, {"host": "127.0.0.1", "ehlo_name": "a\r\nb"}))  # refused
        sent = pool.sent
        results = fanout.fan_out(calls, concurrency=4, pool=pool)
    finally:
        server.listener.close()
    assert isinstance(results[5], InvalidInput)
    banners = [r for i, r in enumerate(results) if i != 5]
    assert all(r.step("Banner").status == Status.FAIL for r in banners)
    assert all("554" in r.step("Banner").detail for r in banners)
    assert server.seen == 12 and 1 < server.peak <= 4
    assert pool.sent > sent


def test_a_worker_that_dies_mid_probe_fails_that_probe_and_is_replaced():
    pool = fanout.ProbePool(2, processes=1)
    server = SlowBanner(hold=5)
    try:
        assert pool.wait_ready(30)
        worker = pool.workers[0]
        threading.Timer(0.5, lambda: os.kill(worker.proc.pid, 9)).start()
        started = time.monotonic()
        with pytest.raises(fanout.WorkerLost):
            pool.call(probe_smtp, {"host": "127.0.0.1", "port": server.port,
                                   "security": "none", "timeout": 10})  # fmt: skip
        assert time.monotonic() - started < 4  # not left waiting for the probe's timeout
        pool.call(probe_tcp, {"host": "127.0.0.1", "port": server.port, "timeout": 5})
        assert pool.workers[0] is not worker  # a new worker was started for the next runs
        assert pool.wait_ready(30)
        sent = pool.sent
        result = pool.call(probe_tcp, {"host": "127.0.0.1", "port": server.port, "timeout": 5})
        assert result.ok and pool.sent == sent + 1
    finally:
        server.listener.close()
        pool.close(wait=5)


def test_small_batches_stay_in_threads_and_a_warm_pool_is_reused():
    assert fanout.pool_for(fanout.PROCESS_MIN_PROBES - 1, 4) is None or fanout.cores() < 2
    if fanout.cores() < 2:
        pytest.skip("one core: the fan-out stays in threads")
    pool = fanout.pool_for(fanout.PROCESS_MIN_PROBES, 4)
    try:
        assert pool is not None and len(pool.workers) == 2
        assert sum(w.slots for w in pool.workers) == 4
        assert fanout.pool_for(1, 4) is pool  # warm: even a small batch uses it
        assert fanout.pool_for(1, 1) is None  # one at a time needs no pool
    finally:
        pool.close(wait=5)
    assert fanout.pool_for(1, 4) is None  # closed: small batches go back to threads


def test_an_idle_pool_closes_its_workers_and_probes_run_here_again(monkeypatch):
    monkeypatch.setattr(fanout, "IDLE_SECONDS", 0.2)
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(8)
    kwargs = {"host": "127.0.0.1", "port": listener.getsockname()[1], "timeout": 5}
    pool = fanout.ProbePool(2, processes=1)
    try:
        assert pool.wait_ready(30)
        assert pool.call(probe_tcp, kwargs).ok and pool.sent == 1
        worker = pool.workers[0]
        assert worker.proc.wait(10) == 0  # closed once idle: the worker ended by itself
        assert pool.closed and not pool.usable()
        assert pool.call(probe_tcp, kwargs).ok and pool.sent == 1  # ran in this thread
    finally:
        listener.close()
        pool.close(wait=5)


def test_workers_that_cannot_start_leave_the_probes_in_threads(monkeypatch, tmp_path):
    # A worker that cannot import the engine (here: started where the engine is not found)
    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(fanout, "ROOT", str(tmp_path))
    monkeypatch.delenv("PYTHONPATH", raising=False)
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(8)
    kwargs = {"host": "127.0.0.1", "port": listener.getsockname()[1], "timeout": 5}
    pool = fanout.ProbePool(2, processes=1)
    try:
        assert not pool.wait_ready(5)
        for _ in range(5):
            assert pool.call(probe_tcp, kwargs).ok  # in this thread, every time
            pool.workers[0].proc.wait(10)
        assert pool.sent == 0 and pool.closed  # gave up after three starts, no endless retry
    finally:
        listener.close()
        pool.close(wait=5)
