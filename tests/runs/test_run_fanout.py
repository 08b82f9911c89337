""" "Test everything" through the engine's worker processes: the same runs as in threads."""

import pytest

from connectivity import fanout
from portal.jobs.models import Job
from portal.runs.models import TENANT_PROBES, ProbeRun
from portal.tenants.models import Tenant


def _test_everything(client, capture) -> dict:
    with capture(execute=True):
        response = client.post("/connectivity/everything/")
    assert response.status_code == 302
    runs = ProbeRun.objects.filter(job=Job.objects.latest("created_at"))
    assert runs.count() == len(TENANT_PROBES) and all(r.is_done for r in runs)
    return {
        run.probe: (run.status, [(s["name"], s["status"], s.get("detail_msg", {}).get("text"))
                                 for s in run.steps])
        for run in runs
    }  # fmt: skip


def test_test_everything_gives_the_same_runs_in_worker_processes(
    transactional_db, operator_client, sandbox_tenant, settings, eager_celery, monkeypatch,
    django_capture_on_commit_callbacks,
):  # fmt: skip
    if fanout.cores() < 2:
        pytest.skip("one core: the fan-out stays in threads")
    settings.CONNECTIVITY_CONCURRENCY = 3
    Tenant.objects.update(accepted_domains=[])  # no DNS traffic off this host (as test_runs)
    in_threads = _test_everything(operator_client, django_capture_on_commit_callbacks)

    monkeypatch.setattr(fanout, "PROCESS_MIN_PROBES", 1)  # this small batch takes the pool too
    pool = fanout.pool_for(1, 3)
    try:
        assert pool is not None and pool.wait_ready(30)
        in_processes = _test_everything(operator_client, django_capture_on_commit_callbacks)
        # SMTP, IMAP4, POP3 and TLS went to the workers; EWS, Autodiscover, MAPI stayed here
        assert pool.sent >= 2
    finally:
        pool.close(wait=5)
    assert in_processes == in_threads
    secret = sandbox_tenant.client_secret
    assert not any(secret in str(run.steps) for run in ProbeRun.objects.all())


def test_a_run_whose_worker_process_dies_says_so_in_words(db):
    import os
    import signal
    import socket
    import threading

    from portal.runs import runner
    from portal.runs.models import Probe, RunStatus

    silent = socket.socket()  # accepts, never greets: the probe waits for its banner
    silent.bind(("127.0.0.1", 0))
    silent.listen(4)
    pool = fanout.ProbePool(2, processes=1)
    try:
        assert pool.wait_ready(30)
        threading.Timer(0.5, os.kill, (pool.workers[0].proc.pid, signal.SIGKILL)).start()
        run = ProbeRun.objects.create(probe=Probe.SMTP, params={
            "host": "127.0.0.1", "port": silent.getsockname()[1], "security": "none",
            "username": "relay@contoso.test"})  # fmt: skip
        run = runner.execute(run, "Relay-Pa55word!", call=pool.call)
    finally:
        silent.close()
        pool.close(wait=5)
    assert run.status == RunStatus.ERROR
    assert [s["name"] for s in run.steps] == ["Resolve host", "TCP connect", "Start the test"]
    last = run.steps[-1]
    assert last["status"] == "fail"
    assert last["detail"] == "the process running the test stopped before it finished"
    assert last["hint"].startswith("Run the test again.")
    assert "Relay-Pa55word!" not in str(run.steps) + str(run.params)
