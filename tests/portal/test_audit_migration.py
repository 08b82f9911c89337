"""Events written before keys existed still verify after `migrate` (a fresh SQLite database)."""

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]

# Events as the portal wrote them before migration 0007: plain SHA-256, no key id column yet.
WRITE_LEGACY = """
import datetime as dt, hashlib, json
from types import SimpleNamespace
from django.db import connection
from portal.audit.models import canonical
previous = "0" * 64
for seq in range(1, 6):
    e = SimpleNamespace(seq=seq, created_at=dt.datetime(2026, 1, 1, 0, seq, tzinfo=dt.UTC),
        actor_id=None, actor_username="", action=f"legacy.{seq}", target_type="", target_id="",
        target_label="", tenant_id="", tenant_label="", before=None, after={"n": seq},
        client_ip=None, user_agent="", request_id="", job_id="", result="success",
        prev_hash=previous, key_id="")
    digest = hashlib.sha256(canonical(e)).hexdigest()
    with connection.cursor() as c:
        c.execute("INSERT INTO audit_auditevent (seq, created_at, actor_id, actor_username, action,"
                  " target_type, target_id, target_label, tenant_id, tenant_label, before, after,"
                  " client_ip, user_agent, request_id, job_id, result, prev_hash, hash) VALUES"
                  " (%s, %s, NULL, '', %s, '', '', '', '', '', NULL, %s, NULL, '', '', '',"
                  " 'success', %s, %s)",
                  [seq, e.created_at, e.action, json.dumps(e.after), previous, digest])
    previous = digest
"""


def _manage(*args, env):
    return subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=300,
    )  # fmt: skip


def test_migration_vouches_for_existing_events(tmp_path):
    env = {k: v for k, v in os.environ.items() if k != "DATABASE_URL"}
    env.update(VAR_DIR=str(tmp_path), AUDIT_CHECKPOINT_DIR=str(tmp_path / "cp"))
    # Everything as before 0007 (other apps' post_migrate handlers need their tables).
    steps = [("migrate", "--noinput"), ("migrate", "audit", "0006", "--noinput"),
             ("shell", "-c", WRITE_LEGACY), ("migrate", "--noinput")]  # fmt: skip
    for step in steps:
        done = _manage(*step, env=env)
        assert done.returncode == 0, done.stdout + done.stderr
    verified = _manage("audit_verify", env=env)
    assert verified.returncode == 0, verified.stderr
    assert "Audit chain intact: 6 events verified" in verified.stdout
    shown = _manage(
        "shell", "-c",
        "from portal.audit.models import AuditEvent as E; e = E.objects.get(seq=6); "
        "print(e.action, e.after['legacy_through_seq'], bool(e.key_id))",
        env=env,
    )  # fmt: skip
    assert shown.stdout.strip().splitlines()[-1] == "audit.chain_keyed 5 True"
