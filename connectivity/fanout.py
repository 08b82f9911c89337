"""Probe fan-out bounded by the machine, not by one interpreter lock.

A probe mostly waits on the network; a thread per probe in flight covers the waiting.  The CPU a
probe does need (TLS handshake, certificate checks, the protocol dialogue: ~2 ms for a full SMTP
probe) runs under one interpreter lock, so one process fanning out hundreds of probes uses one
core however many threads it has.  :class:`ProbePool` spreads probes over one worker process per
core, each running its share of the threads, and never has more in flight than the caller's bound.

* The workers are fresh interpreters (``python -m connectivity.fanout``), not forks: the callers
  are Celery workers and web processes with threads and open database connections that a fork
  would copy mid-use.  A worker speaks JSON lines over its stdin/stdout: the probe's name and
  keyword arguments in, its steps (as they finish) and its result out.  Credentials travel only
  over that pipe; neither side logs a job.
* Start-up does not hold a run back: a worker needs ~0.15 s of CPU to start (interpreter and
  probe imports), so while workers start, :meth:`ProbePool.call` runs the probe in the calling
  thread as before; the pool is kept warm for later runs and closes after a while unused.
* Only probes whose state lives in the call go to workers (SMTP, IMAP4, POP3, TLS, TCP, DNS).
  The HTTP probes (EWS, Autodiscover, MAPI) rely on process-wide exchangelib/requests state the
  caller manages (CA bundles registered per host, cached protocols), so they stay in the
  caller's process.
* Results are the same either way: steps cross as ``Step.to_dict(messages=True)`` and are rebuilt
  with their translatable sentences; an exception the probe raises (``InvalidInput``) is raised
  again in the caller; the per-operation timeouts are the probe's own, unchanged.
"""

from __future__ import annotations

import atexit
import builtins
import contextlib
import itertools
import json
import logging
import os
import queue
import subprocess
import sys
import threading
from collections.abc import Callable, Sequence

from connectivity import probes
from connectivity.i18n import N_
from connectivity.probes.core import InvalidInput, OnStep, ProbeResult, Step
from connectivity.tlspolicy import verification_enabled, verification_off

log = logging.getLogger(__name__)

PROCESS_PROBES = ("probe_smtp", "probe_imap", "probe_pop3", "probe_tls", "probe_tcp", "probe_dns")
# A batch this small stays in threads unless a warm pool exists: starting two workers costs
# ~0.3 s of CPU, the client CPU of ~150 SMTP probes, so a smaller batch cannot win it back.
PROCESS_MIN_PROBES = 100
IDLE_SECONDS = 120.0  # a pool unused this long closes its workers (a later run starts them)
SECRET_KWARGS = ("password", "token", "client_secret")
ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


class WorkerLost(RuntimeError):
    """The worker process running a probe stopped before the probe finished."""


def cores() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # pragma: no cover - not Linux
        return os.cpu_count() or 1


class _Worker:
    """One worker process and the thread that reads its answers."""

    def __init__(self, slots: int) -> None:
        self.slots = slots
        self.busy = 0  # jobs sent and not answered (guarded by the pool's lock)
        self.ready = threading.Event()
        self.alive = True
        self.started = False  # it said it was ready once
        self._jobs: dict[int, queue.SimpleQueue] = {}
        self._jobs_lock = threading.Lock()
        self._write = threading.Lock()
        env = {**os.environ, "PYTHONPATH": os.pathsep.join(
            p for p in (ROOT, os.environ.get("PYTHONPATH", "")) if p)}  # fmt: skip
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "connectivity.fanout", "--worker", str(slots)],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, env=env, close_fds=True,
        )  # fmt: skip
        threading.Thread(target=self._read, name="fanout-reader", daemon=True).start()

    def send(self, job_id: int, line: bytes, answers: queue.SimpleQueue) -> None:
        with self._jobs_lock:  # registered before the reader could give up on this worker
            if not self.alive:
                raise WorkerLost("the probe worker process is gone")
            self._jobs[job_id] = answers
        try:
            with self._write:
                self.proc.stdin.write(line)
                self.proc.stdin.flush()
        except (OSError, ValueError):
            with self._jobs_lock:
                self._jobs.pop(job_id, None)
            self.alive = False
            raise WorkerLost("the probe worker process is gone") from None

    def _read(self) -> None:
        try:
            for line in self.proc.stdout:
                message = json.loads(line)
                if "ready" in message:
                    self.started = True
                    self.ready.set()
                    continue
                with self._jobs_lock:
                    job_id = message["id"]
                    finished = "step" not in message
                    answers = self._jobs.pop(job_id, None) if finished else self._jobs.get(job_id)
                if answers is not None:
                    answers.put(message)
        except Exception:  # noqa: BLE001 - a garbled answer: this worker can no longer be trusted
            log.exception("probe worker %s answered something unreadable", self.proc.pid)
            self.proc.kill()
        finally:
            with self._jobs_lock:  # the process ended: whatever it was running is lost
                self.alive = False
                self.ready.clear()
                lost, self._jobs = list(self._jobs.values()), {}
            for answers in lost:
                answers.put({"lost": True})
            self.proc.wait()

    def close(self) -> None:
        self.alive = False
        with contextlib.suppress(OSError, ValueError):
            self.proc.stdin.close()  # the worker exits at end of input


class ProbePool:
    """Worker processes (one per core, at most ``concurrency``) sharing ``concurrency`` slots."""

    def __init__(self, concurrency: int, processes: int | None = None) -> None:
        self.concurrency = max(1, concurrency)
        self.pid = os.getpid()
        count = max(1, min(processes or cores(), self.concurrency))
        share, extra = divmod(self.concurrency, count)
        self._lock = threading.Lock()
        self._ids = itertools.count(1)
        self._idle: threading.Timer | None = None
        self.closed = False
        self.sent = 0  # probes run in a worker process (for tests and benches)
        self._failed_starts = 0
        self.workers = [_Worker(share + (i < extra)) for i in range(count)]

    def wait_ready(self, timeout: float = 30.0) -> bool:
        return all(w.ready.wait(timeout) for w in self.workers)

    def usable(self) -> bool:
        return not self.closed and self.pid == os.getpid()

    def call(self, func: Callable[..., ProbeResult], kwargs: dict,
             on_step: OnStep | None = None) -> ProbeResult:  # fmt: skip
        """``func(**kwargs, on_step=on_step)``: in a worker process when one is ready and the
        probe can go there, else in this thread.  ``on_step`` is always called in this thread."""
        name = getattr(func, "__name__", "")
        if name not in PROCESS_PROBES or getattr(probes, name) is not func:
            return func(**kwargs, on_step=on_step)
        worker, job_id = self._take()
        if worker is None:
            return func(**kwargs, on_step=on_step)
        answers: queue.SimpleQueue = queue.SimpleQueue()
        try:
            job = {"id": job_id, "probe": name, "kwargs": kwargs, "steps": on_step is not None,
                   "verify": verification_enabled()}  # fmt: skip
            try:
                worker.send(job_id, json.dumps(job).encode() + b"\n", answers)
            except (TypeError, ValueError, WorkerLost):
                # An argument only this process can hold (a resolver object), or a worker that
                # is gone: the probe never started there, so it runs here.
                return func(**kwargs, on_step=on_step)
            with self._lock:
                self.sent += 1
            return self._answer(answers, on_step)
        finally:
            self._release(worker)

    def _answer(self, answers: queue.SimpleQueue, on_step: OnStep | None) -> ProbeResult:
        while True:
            message = answers.get()
            if "step" in message:
                try:
                    on_step(Step.from_dict(message["step"]))
                except Exception:  # a broken listener must not break the probe (as Recorder)
                    log.exception("on_step callback failed")
            elif "result" in message:
                return ProbeResult.from_dict(message["result"])
            elif "error" in message:
                raise _exception(message["error"])
            else:
                raise WorkerLost(N_("the process running the test stopped before it finished"))

    def _take(self) -> tuple[_Worker | None, int]:
        with self._lock:
            if self._idle is not None:
                self._idle.cancel()
                self._idle = None
            if not self.usable():
                return None, 0
            for index, worker in enumerate(self.workers):
                if worker.alive:
                    continue
                if not worker.started:  # it could not even start: do not keep trying
                    self._failed_starts += 1
                    if self._failed_starts >= 3:
                        log.warning("probe worker processes do not start; probes run in threads")
                        self.closed = True
                        return None, 0
                # died (killed, out of memory) or never started: start another
                self.workers[index] = worker = _Worker(worker.slots)
            ready = [w for w in self.workers if w.ready.is_set() and w.busy < w.slots]
            if not ready:
                return None, 0
            worker = min(ready, key=lambda w: w.busy / w.slots)
            worker.busy += 1
            return worker, next(self._ids)

    def _release(self, worker: _Worker) -> None:
        with self._lock:
            worker.busy -= 1
            if not self.closed and not any(w.busy for w in self.workers):
                self._idle = threading.Timer(IDLE_SECONDS, self._close_if_idle)
                self._idle.daemon = True
                self._idle.start()

    def busy(self) -> bool:
        with self._lock:
            return any(w.busy for w in self.workers)

    def _close_if_idle(self) -> None:
        with self._lock:  # closed in the same breath as checked: no probe is sent after it
            if self.closed or any(w.busy for w in self.workers):
                return
            self.closed = True
        for worker in self.workers:
            worker.close()

    def close(self, wait: float = 0) -> None:
        """Stop the workers (they exit at the end of their input); ``wait`` seconds for them."""
        with self._lock:
            self.closed = True
            if self._idle is not None:
                self._idle.cancel()
        for worker in self.workers:
            worker.close()
        for worker in self.workers if wait else ():
            with contextlib.suppress(subprocess.TimeoutExpired):
                worker.proc.wait(wait)


def _exception(error: dict) -> Exception:
    text = error["text"]
    if error["type"] == "InvalidInput":
        return InvalidInput(text)
    if error.get("errno") is not None:
        return OSError(error["errno"], text)  # OSError picks the subclass (refused, reset…)
    builtin = getattr(builtins, error["type"], None)
    if isinstance(builtin, type) and issubclass(builtin, OSError):
        return builtin(text)
    return RuntimeError(f"{error['type']}: {text}")


# -- choosing threads or processes ----------------------------------------------------------

_shared: ProbePool | None = None
_shared_lock = threading.Lock()


def pool_for(probe_count: int, concurrency: int) -> ProbePool | None:
    """The process's warm pool for ``concurrency``, or a new one when the batch is large enough
    to pay for starting it; None means: run in threads (one core, or a small batch)."""
    global _shared
    if concurrency < 2 or cores() < 2:
        return None
    with _shared_lock:
        pool = _shared
        if pool is not None and pool.usable() and pool.concurrency == concurrency:
            return pool
        if probe_count < PROCESS_MIN_PROBES:
            return None
        if pool is not None and pool.usable():
            if pool.busy():  # another bound is running on it: leave it be, use threads
                return None
            pool.close()
        _shared = ProbePool(concurrency)
        return _shared


@atexit.register
def _close_shared() -> None:
    if _shared is not None and _shared.usable():
        _shared.close()


def fan_out(calls: Sequence[tuple[Callable[..., ProbeResult], dict]], *, concurrency: int,
            pool: ProbePool | str | None = "auto") -> list[ProbeResult | Exception]:  # fmt: skip
    """Run ``func(**kwargs)`` for every call, at most ``concurrency`` at once; the results (or
    the exception a call raised) in the order of ``calls``.  ``pool``: "auto" (see
    :func:`pool_for`), None for threads only, or a given pool."""
    from concurrent.futures import ThreadPoolExecutor

    if pool == "auto":
        pool = pool_for(len(calls), concurrency)

    def one(call):
        func, kwargs = call
        try:
            return pool.call(func, kwargs) if pool is not None else func(**kwargs)
        except Exception as exc:  # noqa: BLE001 - handed back to the caller, in order
            return exc

    with ThreadPoolExecutor(max_workers=max(1, min(concurrency, len(calls)))) as threads:
        return list(threads.map(one, calls))


# -- the worker process ---------------------------------------------------------------------


def _worker_main(slots: int) -> None:
    from concurrent.futures import ThreadPoolExecutor

    for name in PROCESS_PROBES:  # import now, so the first probe does not pay for it
        getattr(probes, name)
    # The answers get a descriptor of their own; anything else printed goes to stderr, so a
    # stray print() in a library can never garble them.
    out = os.fdopen(os.dup(1), "wb")
    os.dup2(2, 1)
    sys.stdout = sys.stderr
    write = threading.Lock()

    def emit(message: dict) -> None:
        data = json.dumps(message).encode() + b"\n"
        with write:
            out.write(data)
            out.flush()

    def run(job: dict) -> None:
        job_id = job["id"]

        def relay(step: Step) -> None:
            emit({"id": job_id, "step": step.to_dict(messages=True)})

        on_step = relay if job["steps"] else None
        try:
            with contextlib.nullcontext() if job["verify"] else verification_off():
                result = getattr(probes, job["probe"])(**job["kwargs"], on_step=on_step)
            emit({"id": job_id, "result": {
                "probe": result.probe, "target": result.target,
                "steps": [s.to_dict(messages=True) for s in result.steps]}})  # fmt: skip
        except Exception as exc:  # noqa: BLE001 - raised again in the caller
            text = str(exc.strerror if isinstance(exc, OSError) and exc.strerror else exc)
            for key in SECRET_KWARGS:
                secret = job["kwargs"].get(key)
                if secret:
                    text = text.replace(secret, "***")
            emit({"id": job_id, "error": {"type": type(exc).__name__, "text": text,
                                          "errno": getattr(exc, "errno", None)}})  # fmt: skip

    threads = ThreadPoolExecutor(max_workers=slots, thread_name_prefix="probe")
    emit({"ready": os.getpid()})
    for line in sys.stdin.buffer:
        threads.submit(run, json.loads(line))
    # End of input: the pool closed, or its process is gone. Nobody waits for what runs.
    os._exit(0)


if __name__ == "__main__":
    if sys.argv[1:2] != ["--worker"]:
        sys.exit("usage: python -m connectivity.fanout --worker SLOTS (started by ProbePool)")
    _worker_main(int(sys.argv[2]))
