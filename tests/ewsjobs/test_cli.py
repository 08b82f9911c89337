"""`manage.py ews_job start|status|cancel` as subprocesses: JSON fields and exit codes."""

import collections
import json
import os
import subprocess
import sys

import pytest

from portal.audit.models import AuditEvent
from portal.ewsjobs.models import EwsJob
from portal.jobs.models import Job
from tests.conftest import ROOT, _database_url
from tests.ewsjobs.world import FAST, events, subjects
from tests.jobs.helpers import Worker


def ews_job(*args, timeout=180):
    env = {**os.environ, "DATABASE_URL": _database_url()}
    return subprocess.run([sys.executable, "manage.py", "ews_job", *args], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=timeout)  # fmt: skip


def test_cli_start_wait_status_and_refusals(world, tmp_path):
    tenant, grant = world["tenant"].name, str(world["grant"].pk)
    targets = ",".join(world["boxes"][:2])
    params = json.dumps({"events": events(6, "Cli")})
    worker = Worker(tmp_path / "w.log", "w", **FAST)
    try:
        worker.wait_ready()
        done = ews_job("start", "publish", "--tenant", tenant, "--grant", grant, "--targets",
                       targets, "--params", params, "--wait", "--json")  # fmt: skip
    finally:
        worker.stop()
    assert done.returncode == 0, done.stderr + worker.text()
    line = json.loads(done.stdout)
    assert set(line) == {"job", "status", "done", "failed", "total"}
    assert (line["status"], line["done"], line["failed"], line["total"]) == ("succeeded", 12, 0, 12)
    for box in world["boxes"][:2]:
        assert collections.Counter(subjects(world, box, prefix="Cli ")) == {
            f"Cli {i}": 1 for i in range(6)}  # fmt: skip
    status = ews_job("status", line["job"], "--json")
    assert status.returncode == 0 and json.loads(status.stdout) == line
    job = Job.objects.get(pk=line["job"])
    assert AuditEvent.objects.get(action="job.start", target_id=line["job"]).actor_username \
        .startswith("cli:")  # fmt: skip
    assert job.status == Job.Status.SUCCEEDED

    # Refused before anything starts: outside the scope, bad JSON, unknown tenant, both target
    # options, a real rule without its dry run. Exit 2, words on stderr, no job created.
    count = EwsJob.objects.count()
    outside = ews_job("start", "publish", "--tenant", tenant, "--grant", grant, "--targets",
                      world["outside"], "--params", params, "--json")  # fmt: skip
    assert outside.returncode == 2 and "outside grant" in outside.stderr, outside.stderr
    bad = ews_job("start", "search", "--tenant", tenant, "--grant", grant, "--targets", targets,
                  "--params", "{not json")  # fmt: skip
    assert bad.returncode == 2 and "not valid JSON" in bad.stderr
    nobody = ews_job("start", "search", "--tenant", "Nope", "--grant", grant, "--all-in-scope")
    assert nobody.returncode == 2 and "No tenant" in nobody.stderr
    both = ews_job("start", "search", "--tenant", tenant, "--grant", grant, "--targets", targets,
                   "--all-in-scope")  # fmt: skip
    assert both.returncode == 2
    rule = json.dumps({"criteria": {"subject": "x"}, "action": {"kind": "flag"}})
    real = ews_job("start", "rules", "--tenant", tenant, "--grant", grant, "--all-in-scope",
                   "--params", rule)  # fmt: skip
    assert real.returncode == 2 and "dry run first" in real.stderr
    assert EwsJob.objects.count() == count
    assert ews_job("status", "not-a-uuid").returncode == 2
    assert ews_job("cancel", line["job"]).returncode == 2  # it has ended


def test_cli_cancel_and_a_failed_job_exits_1(world):
    tenant, grant = world["tenant"].name, str(world["grant"].pk)
    # No worker runs: the job waits queued, and cancel ends it at once.
    started = ews_job("start", "tasks", "--tenant", tenant, "--grant", grant, "--all-in-scope",
                      "--params", json.dumps({"task": {"subject": "Later"}}), "--json")  # fmt: skip
    assert started.returncode == 0, started.stderr
    job_id = json.loads(started.stdout)["job"]
    assert json.loads(started.stdout)["status"] == "queued"
    cancelled = ews_job("cancel", job_id)
    assert cancelled.returncode == 0, cancelled.stderr
    status = ews_job("status", job_id, "--json")
    assert status.returncode == 1 and json.loads(status.stdout)["status"] == "cancelled"
    assert AuditEvent.objects.filter(action="ewsjob.cancel", target_id=job_id,
                                     result="success").count() == 1  # fmt: skip
    assert AuditEvent.objects.filter(action="ewsjob.finish", target_id=job_id).count() == 1


pytestmark = pytest.mark.django_db(transaction=True)
