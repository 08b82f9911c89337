"""`make run`'s supervisor: scripts/run with real gunicorn, celery worker and celery beat.

A process that dies is restarted while the others keep serving; SIGTERM or Ctrl-C to the process
group leaves nothing behind within 10 seconds. Processes are read from /proc (Linux).
"""

import contextlib
import os
import re
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request

import pytest
from django.conf import settings

from tests.conftest import ROOT, _database_url

STARTUP = 180.0  # two shared cores, possibly busy: starting Django three times can be slow
STOP_LIMIT = 10.0  # what `make run` promises


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _processes() -> dict[int, dict]:
    """Live processes: pid -> ppid, pgid, sid, cmdline (zombies have exited: left out)."""
    table = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat") as f:
                stat = f.read()
            with open(f"/proc/{entry}/cmdline", "rb") as f:
                cmdline = f.read().replace(b"\0", b" ").decode(errors="replace")
        except OSError:
            continue
        state, ppid, pgid, sid = stat[stat.rindex(")") + 2 :].split()[:4]
        if state in ("Z", "X"):
            continue
        table[int(entry)] = {"ppid": int(ppid), "pgid": int(pgid), "sid": int(sid), "cmd": cmdline}
    return table


def _descendants(pid: int, table: dict[int, dict]) -> set[int]:
    found, frontier = set(), {pid}
    while frontier:
        frontier = {p for p, info in table.items() if info["ppid"] in frontier} - found
        found |= frontier
    return found


def _healthz(port: int) -> int | None:
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=10) as response:
            return response.status
    except urllib.error.HTTPError as exc:
        return exc.code
    except OSError:
        return None


def _wait_for(predicate, timeout: float, interval: float = 0.25):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if result := predicate():
            return result
        time.sleep(interval)
    return None


class MakeRun:
    def __init__(self, tmp_path):
        self.port = _free_port()
        self.log_path = tmp_path / "make-run.log"
        var_dir = tmp_path / "var"
        var_dir.mkdir()
        env = {
            **os.environ,
            "VAR_DIR": str(var_dir),  # its own file-system queue, beat schedule and results
            "HOST": "127.0.0.1",
            "PORT": str(self.port),
            "SITE_URL": f"http://127.0.0.1:{self.port}",
            "DATABASE_URL": _database_url(),
            "CELERY_BROKER_URL": settings.CELERY_BROKER_URL,
        }
        self._log = self.log_path.open("wb")
        # Its own session and process group, as a terminal would start `make run`.
        self.proc = subprocess.Popen(
            [str(ROOT / "scripts" / "run")],
            cwd=ROOT, env=env, stdin=subprocess.DEVNULL, stdout=self._log,
            stderr=subprocess.STDOUT, start_new_session=True,
        )  # fmt: skip
        self.sessions: set[int] = {self.proc.pid}

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")

    def child(self, needle: str, table=None) -> int | None:
        table = table or _processes()
        for pid, info in table.items():
            if info["ppid"] == self.proc.pid and needle in info["cmd"]:
                return pid
        return None

    def workers_ready(self) -> int:
        return len(re.findall(r"worker@\S+ ready\.", self.log()))

    def wait_until_serving(self) -> None:
        def serving():
            if self.proc.poll() is not None:
                pytest.fail(f"make run exited with {self.proc.returncode}:\n{self.log()}")
            return (
                _healthz(self.port) == 200
                and self.workers_ready() >= 1
                and "beat: Starting" in self.log()
                and all(self.child(n) for n in ("gunicorn", "portal worker", "portal beat"))
            )

        assert _wait_for(serving, STARTUP, 0.5), f"make run did not come up:\n{self.log()}"
        # Remember every session the supervisor opened, for the final "nothing left" check.
        table = _processes()
        self.sessions |= {table[p]["sid"] for p in _descendants(self.proc.pid, table)}

    def leftovers(self) -> dict[int, dict]:
        return {p: i for p, i in _processes().items() if i["sid"] in self.sessions}

    def close(self) -> None:
        if self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGTERM)
            with contextlib.suppress(subprocess.TimeoutExpired):
                self.proc.wait(timeout=20)
        for pid in self.leftovers():
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
        self.proc.wait(timeout=10)
        self._log.close()


@pytest.fixture
def make_run(transactional_db, tmp_path):
    if not sys.platform.startswith("linux"):
        pytest.skip("reads processes from /proc")
    from portal.celery import app

    app.control.purge()  # on Redis, messages left by earlier tests would run against this database
    run = MakeRun(tmp_path)
    yield run
    run.close()


def test_a_killed_worker_is_restarted_while_the_web_server_keeps_serving(make_run):
    make_run.wait_until_serving()
    table = _processes()
    worker = make_run.child("portal worker", table)
    pool = _descendants(worker, table)
    assert pool, "the prefork worker should have pool processes"

    os.kill(worker, signal.SIGKILL)
    statuses = []

    def restarted():
        statuses.append(_healthz(make_run.port))
        new = make_run.child("portal worker")
        return new not in (None, worker) and make_run.workers_ready() >= 2

    assert _wait_for(restarted, STARTUP, 0.3), f"no new worker:\n{make_run.log()}"
    assert re.search(
        r"^celery worker exited with code -9 \(SIGKILL\); restarting in 1 s$", make_run.log(), re.M
    ), make_run.log()
    assert statuses and set(statuses) == {200}, f"/healthz while the worker was down: {statuses}"
    # The dead worker's pool processes were not left running on their own.
    assert _wait_for(lambda: not (pool & set(_processes())), 10), pool & set(_processes())
    # gunicorn and beat were never restarted.
    assert make_run.log().count("restarting in") == 1
    assert make_run.child("gunicorn") == make_run.child("gunicorn", table)
    assert make_run.child("portal beat") == make_run.child("portal beat", table)


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT], ids=["SIGTERM", "Ctrl-C"])
def test_a_signal_to_the_process_group_stops_everything_within_10_seconds(make_run, sig):
    make_run.wait_until_serving()
    table = _processes()
    everything = {make_run.proc.pid} | _descendants(make_run.proc.pid, table)
    worker = make_run.child("portal worker", table)
    assert len(_descendants(worker, table)) >= 2, "the worker's pool processes should be running"

    started = time.monotonic()
    os.killpg(make_run.proc.pid, sig)
    gone = _wait_for(lambda: not make_run.leftovers() and make_run.proc.poll() is not None, 15, 0.1)
    elapsed = time.monotonic() - started

    assert gone, f"still running: {make_run.leftovers()}\n{make_run.log()}"
    assert elapsed < STOP_LIMIT, f"stopping took {elapsed:.1f} s:\n{make_run.log()}"
    assert not everything & set(_processes())
    assert make_run.proc.returncode == 0
    assert "Stopping…" in make_run.log() and "Stopped." in make_run.log()
    assert _healthz(make_run.port) is None  # the port is closed


def _supervise(tmp_path, *processes: tuple[str, str]):
    args = [arg for name, command in processes for arg in ("--process", name, command)]
    log = (tmp_path / "supervise.log").open("wb")
    proc = subprocess.Popen(
        [sys.executable, str(ROOT / "scripts" / "supervise.py"), *args],
        stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
    )  # fmt: skip
    return proc, tmp_path / "supervise.log"


def test_restarts_back_off_by_doubling_while_the_other_processes_keep_running(tmp_path):
    crasher = f"{sys.executable} -c 'import sys; sys.exit(3)'"
    steady = f"{sys.executable} -c 'import time; time.sleep(120)'"
    proc, log = _supervise(tmp_path, ("crasher", crasher), ("steady", steady))
    try:
        third = "crasher exited with code 3; restarting in 4 s"
        assert _wait_for(lambda: third in log.read_text(), 60), log.read_text()
        lines = [line for line in log.read_text().splitlines() if "restarting" in line]
        assert lines[:3] == [
            "crasher exited with code 3; restarting in 1 s",
            "crasher exited with code 3; restarting in 2 s",
            third,
        ]
        children = [i["cmd"] for i in _processes().values() if i["ppid"] == proc.pid]
        assert sum("sleep" in cmd for cmd in children) == 1, children
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        proc.wait(timeout=15)
    assert proc.returncode == 0
    assert "steady exited" not in log.read_text()


@pytest.mark.parametrize(
    "presses, message, limit",
    [
        (1, "stubborn did not stop within 8.5 s; killing it", STOP_LIMIT),
        (2, "stubborn is still running; killing it", 4.0),  # a second Ctrl-C: now
    ],
    ids=["once", "twice"],
)
def test_a_process_that_ignores_sigterm_is_killed_with_its_children(
    tmp_path, presses, message, limit
):
    # A parent that ignores SIGTERM and a child of its own (like a worker's pool processes).
    stubborn = (
        f"{sys.executable} -c 'import signal, subprocess, sys, time; "
        "signal.signal(signal.SIGTERM, signal.SIG_IGN); "
        f'subprocess.Popen([sys.executable, "-c", "import time; time.sleep(120)"]); '
        "time.sleep(120)'"
    )
    proc, log = _supervise(tmp_path, ("stubborn", stubborn))
    ready = lambda: len(_descendants(proc.pid, _processes())) == 2  # noqa: E731
    assert _wait_for(ready, 60), log.read_text()
    table = _processes()
    family = _descendants(proc.pid, table)
    sessions = {table[p]["sid"] for p in family}

    started = time.monotonic()
    for press in range(presses):
        if press:
            time.sleep(1)
        os.killpg(proc.pid, signal.SIGINT)
    proc.wait(timeout=15)
    elapsed = time.monotonic() - started
    left = {p for p, i in _processes().items() if i["sid"] in sessions or p in family}
    assert not left, left
    assert elapsed < limit, elapsed
    assert message in log.read_text(), log.read_text()
