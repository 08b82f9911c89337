"""Real peers for the job reliability tests: worker processes, a gated SMTP server, brokers."""

import asyncio
import contextlib
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

from aiosmtpd.controller import Controller
from django.conf import settings
from django.test import override_settings

from tests.conftest import ROOT, _database_url


def wait_for(predicate, timeout=60.0, interval=0.2):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(interval)
    return False


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Worker:
    """One `celery worker` process (solo pool) with its own log, killed or stopped by the test."""

    def __init__(self, log: Path, name: str, pool: str = "solo", **env):
        self.log_path = log
        environ = {**os.environ, "DATABASE_URL": _database_url(),
                   "CELERY_BROKER_URL": settings.CELERY_BROKER_URL,
                   **{k: str(v) for k, v in env.items()}}  # fmt: skip
        self._log = log.open("w")
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "celery", "-A", "portal", "worker", f"--pool={pool}",
             "--concurrency=1",
             "--without-mingle", "--without-gossip", "--loglevel=INFO",
             f"--hostname={name}-{os.getpid()}@%h"],
            cwd=ROOT, env=environ, stdout=self._log, stderr=subprocess.STDOUT,
        )  # fmt: skip

    def text(self) -> str:
        return self.log_path.read_text()

    def wait_ready(self, timeout=60.0):
        assert wait_for(lambda: "ready." in self.text(), timeout), self.text()

    def children(self) -> list[int]:
        path = Path(f"/proc/{self.proc.pid}/task/{self.proc.pid}/children")
        return [int(pid) for pid in path.read_text().split()] if path.exists() else []

    def kill(self):
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait(10)

    def stop(self):
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.proc.kill()
        self._log.close()


class _GatedHandler:
    """Answers EHLO only once ``gate`` is set: a probe waits mid-run until the test allows."""

    def __init__(self, gate: threading.Event):
        self.gate = gate

    async def handle_EHLO(self, server, session, envelope, hostname, responses):  # noqa: N802
        while not self.gate.is_set():
            await asyncio.sleep(0.05)
        session.host_name = hostname
        return responses


@contextlib.contextmanager
def gated_smtp_server():
    """An aiosmtpd server that greets, then holds every EHLO until ``gate`` is set."""
    gate = threading.Event()
    port = free_port()
    controller = Controller(_GatedHandler(gate), hostname="127.0.0.1", port=port,
                            server_hostname="mail.contoso.test", ready_timeout=5)  # fmt: skip
    controller.start()
    try:
        yield port, gate
    finally:
        gate.set()
        controller.stop()


def _reset_producers():
    from portal.celery import app

    app._pool = None
    with contextlib.suppress(AttributeError, KeyError):
        app.__dict__["amqp"]._producer_pool = None


@contextlib.contextmanager
def broker(url: str, transport_options: dict | None = None):
    """Point this process's Celery app (and the settings the portal reads) at another broker."""
    from portal.celery import app

    keys = ("broker_url", "broker_write_url", "broker_read_url", "broker_transport_options")
    saved = {key: app.conf[key] for key in keys}
    app.conf.update(broker_url=url, broker_write_url=url, broker_read_url=url,
                    broker_transport_options=transport_options or {})  # fmt: skip
    _reset_producers()
    try:
        options = transport_options or {}
        with override_settings(CELERY_BROKER_URL=url, CELERY_BROKER_TRANSPORT_OPTIONS=options):
            yield
    finally:
        app.conf.update(saved)
        _reset_producers()


@contextlib.contextmanager
def unwritable_filesystem_broker():
    """A file-system broker whose queue folder cannot be written (a file stands in its place,
    which refuses writes even to root)."""
    with tempfile.TemporaryDirectory() as tmp:
        blocked = Path(tmp) / "queue"
        blocked.write_text("not a folder")
        options = {
            "data_folder_in": str(blocked),
            "data_folder_out": str(blocked),
            "control_folder": str(Path(tmp) / "control"),
            "store_processed": False,
        }
        if os.geteuid() != 0:
            Path(tmp).chmod(0o500)
        try:
            with broker("filesystem://", options):
                yield str(blocked)
        finally:
            Path(tmp).chmod(0o700)


@contextlib.contextmanager
def private_redis():
    """A redis-server of this test's own on a free port; yields (url, stop)."""
    exe = shutil.which("redis-server") or "/usr/bin/redis-server"
    port = free_port()
    proc = subprocess.Popen(
        [exe, "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip

    def answers():
        with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), 0.5):
            return True
        return False

    assert wait_for(answers, 15), "redis-server did not start"

    def stop():
        proc.terminate()
        proc.wait(10)

    try:
        yield f"redis://127.0.0.1:{port}/0", stop
    finally:
        if proc.poll() is None:
            stop()
