"""Keep a few long-running processes up for `make run`, and stop them all cleanly.

    supervise.py --process NAME 'COMMAND LINE' [--process NAME 'COMMAND LINE' ...]

A process that exits is restarted after a back-off (1 s, doubling up to 30 s, back to 1 s once it
has stayed up for a minute) while the others keep serving. Ctrl-C, SIGTERM or SIGHUP sends one
SIGTERM to each process, waits, and sends SIGKILL to whatever is left, all within 10 seconds.

Each process runs in its own session, so the terminal's Ctrl-C (which goes to the whole
foreground process group) reaches only this supervisor. When it reached every process, each got
the stop twice — SIGINT from the terminal, then SIGTERM or SIGQUIT from its parent (the launcher,
or gunicorn's master for its workers) — and processes hung: gunicorn workers exiting from a
signal handler a second time deadlocked on a lock, and a Celery worker hit during start-up was
left with half-imported modules and never finished its shutdown. One forwarded SIGTERM per
process stops each once; SIGKILL to the process's whole group remains the safety net.

Standard library only: it runs before anything else is known to work.
"""

import argparse
import contextlib
import ctypes
import os
import shlex
import signal
import subprocess
import sys
import time

BACKOFF_FIRST = 1.0
BACKOFF_MAX = 30.0
STABLE_AFTER = 60.0  # a process that ran this long gets the shortest back-off again
STOP_GRACE = 8.5  # SIGTERM to SIGKILL; leaves room to reap and exit within 10 s
POLL = 0.2

_PR_SET_PDEATHSIG = 1
_libc = ctypes.CDLL(None, use_errno=True) if sys.platform.startswith("linux") else None


def say(message: str) -> None:
    print(message, flush=True)


def _describe(returncode: int) -> str:
    if returncode < 0:
        try:
            return f"code {returncode} ({signal.Signals(-returncode).name})"
        except ValueError:
            pass
    return f"code {returncode}"


def _killpg(pgid: int, sig: int) -> None:
    with contextlib.suppress(ProcessLookupError):
        os.killpg(pgid, sig)


class Child:
    def __init__(self, name: str, argv: list[str]):
        self.name = name
        self.argv = argv
        self.proc: subprocess.Popen | None = None
        self.started_at = 0.0
        self.next_backoff = BACKOFF_FIRST
        self.restart_at = 0.0

    def start(self) -> None:
        supervisor = os.getpid()

        def in_child() -> None:
            # The children live outside our process group; if this supervisor is killed outright
            # they must not outlive it.
            if _libc is not None:
                _libc.prctl(_PR_SET_PDEATHSIG, signal.SIGTERM)
            if os.getppid() != supervisor:
                os.kill(os.getpid(), signal.SIGTERM)

        try:
            self.proc = subprocess.Popen(
                self.argv, stdin=subprocess.DEVNULL, start_new_session=True, preexec_fn=in_child
            )
        except OSError as exc:
            self.proc = None
            self._schedule_restart(f"could not be started ({exc.strerror or exc})")
            return
        self.started_at = time.monotonic()

    def exited(self) -> bool:
        """Whether the process has exited; it stays a zombie (its group id still reserved)."""
        if self.proc is None:
            return False
        if self.proc.returncode is not None:
            return True
        if not hasattr(os, "waitid"):  # macOS before Python 3.13: reaping is all there is
            return self.proc.poll() is not None
        flags = os.WEXITED | os.WNOHANG | os.WNOWAIT
        try:
            return os.waitid(os.P_PID, self.proc.pid, flags) is not None
        except ChildProcessError:
            return True

    def reap(self) -> int:
        """Kill what the process left in its group (e.g. orphaned pool children), then reap it."""
        # Done before the wait: until the leader is reaped its id cannot be reused for a new group.
        _killpg(self.proc.pid, signal.SIGKILL)
        returncode = self.proc.wait()
        self.proc = None
        return returncode

    def on_unexpected_exit(self) -> None:
        uptime = time.monotonic() - self.started_at
        returncode = self.reap()
        if uptime >= STABLE_AFTER:
            self.next_backoff = BACKOFF_FIRST
        self._schedule_restart(f"exited with {_describe(returncode)}")

    def _schedule_restart(self, what: str) -> None:
        delay = self.next_backoff
        self.next_backoff = min(delay * 2, BACKOFF_MAX)
        self.restart_at = time.monotonic() + delay
        say(f"{self.name} {what}; restarting in {delay:g} s")


class Supervisor:
    def __init__(self, children: list[Child]):
        self.children = children
        self.stop_signals = 0

    def _on_signal(self, signum, frame) -> None:
        self.stop_signals += 1

    def run(self) -> int:
        for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
            signal.signal(sig, self._on_signal)
        for child in self.children:
            child.start()
        while not self.stop_signals:
            now = time.monotonic()
            for child in self.children:
                if child.proc is None:
                    if now >= child.restart_at:
                        child.start()
                elif child.exited():
                    child.on_unexpected_exit()
            time.sleep(POLL)
        self.stop()
        return 0

    def stop(self) -> None:
        say("\nStopping…")
        running = [child for child in self.children if child.proc is not None]
        for child in running:
            with contextlib.suppress(ProcessLookupError):
                child.proc.send_signal(signal.SIGTERM)
        deadline = time.monotonic() + STOP_GRACE
        # A second Ctrl-C means "now": skip the rest of the grace period.
        while running and time.monotonic() < deadline and self.stop_signals < 2:
            for child in [child for child in running if child.exited()]:
                child.reap()
                running.remove(child)
            time.sleep(0.1)
        for child in running:
            if not child.exited():
                if self.stop_signals < 2:
                    say(f"{child.name} did not stop within {STOP_GRACE:g} s; killing it")
                else:
                    say(f"{child.name} is still running; killing it")
            child.reap()  # SIGKILL to its whole group, then wait
        say("Stopped.")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--process",
        nargs=2,
        action="append",
        required=True,
        metavar=("NAME", "COMMAND"),
        help="a name for messages and a command line (split like a shell would)",
    )
    args = parser.parse_args(argv)
    children = [Child(name, shlex.split(command)) for name, command in args.process]
    return Supervisor(children).run()


if __name__ == "__main__":
    sys.exit(main())
