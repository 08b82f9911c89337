"""Checkpoints outside the database, scheduled verification with its banner and email, the
public commands as subprocesses, and the AUDIT_KEY setting."""

import json
import os
import socket
import subprocess
import sys
from pathlib import Path

import pytest
from django.conf import settings as django_settings
from django.core import mail
from django.db import connection

from portal.audit import checkpoints, db_guard
from portal.audit.api import record
from portal.audit.models import AuditEvent
from portal.audit.tasks import verify_chain_task, write_checkpoint_task
from portal.audit.verify import verify_chain
from tests.conftest import _database_url

pytestmark = pytest.mark.django_db
ROOT = Path(__file__).resolve().parents[2]
SIGNED = (*checkpoints.SIGNED_FIELDS, "mac")


def _lines(folder) -> list[dict]:
    return [json.loads(x) for x in (Path(folder) / "checkpoints.jsonl").read_text().splitlines()]


def test_checkpoint_is_signed_appended_and_emailed_when_the_head_moves(settings):
    settings.AUDIT_CHECKPOINT_EMAIL = ["archive@example.test"]
    for i in range(3):
        record(f"test.{i}")
    first = write_checkpoint_task()
    head = AuditEvent.objects.order_by("-seq").first()
    assert (first["seq"], first["hash"], first["sent"]) == (3, head.hash, ["email"])
    assert len(mail.outbox) == 1 and mail.outbox[0].to == ["archive@example.test"]
    assert checkpoints.line_for({k: first[k] for k in SIGNED}) in mail.outbox[0].body

    again = checkpoints.write()  # head unchanged: written, not re-sent
    assert again["moved"] is False and again["sent"] == [] and len(mail.outbox) == 1
    record("test.more")
    checkpoints.write()
    assert len(mail.outbox) == 2
    lines = _lines(settings.AUDIT_CHECKPOINT_DIR)
    assert [x["seq"] for x in lines] == [3, 3, 4]
    assert set(lines[0]) == {"seq", "hash", "time", "key_id", "mac"}


def test_checkpoint_goes_to_syslog_over_udp(settings):
    receiver = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    receiver.bind(("127.0.0.1", 0))
    receiver.settimeout(5)
    settings.AUDIT_CHECKPOINT_SYSLOG = f"udp://127.0.0.1:{receiver.getsockname()[1]}"
    record("test.one")
    written = checkpoints.write()
    message = receiver.recv(4096).decode()
    receiver.close()
    assert written["sent"] == ["syslog"]
    assert message.startswith("<37>1 ") and f'"seq":{written["seq"]}' in message
    assert written["mac"] in message


def test_an_edited_checkpoint_file_is_reported(settings):
    record("test.one")
    checkpoints.write()
    path = Path(settings.AUDIT_CHECKPOINT_DIR) / "checkpoints.jsonl"
    path.write_text(path.read_text().replace('"seq":1', '"seq":9'))
    _, bad, reason = verify_chain()
    assert bad.seq == 9 and "bad signature" in reason


def test_checkpoints_received_elsewhere_are_checked_too(settings, tmp_path):
    for i in range(3):
        record(f"test.{i}")
    kept = tmp_path / "from-mail.jsonl"
    written = checkpoints.write()
    kept.write_text(checkpoints.line_for({k: written[k] for k in SIGNED}))
    (Path(settings.AUDIT_CHECKPOINT_DIR) / "checkpoints.jsonl").unlink()  # the local copy is gone
    db_guard.uninstall(connection)
    with connection.cursor() as cursor:
        cursor.execute("DELETE FROM audit_auditevent WHERE seq = 3")
    assert verify_chain()[1] is None  # nothing local pins #3 any more
    _, bad, reason = verify_chain(checkpoint_files=[kept])
    assert bad.seq == 3 and "newest events were deleted" in reason


def test_beat_runs_checkpoint_and_verification_hourly():
    schedule = django_settings.CELERY_BEAT_SCHEDULE
    for name, task in (("audit-write-checkpoint", "audit.write_checkpoint"),
                       ("audit-verify-chain", "audit.verify_chain")):  # fmt: skip
        entry = schedule[name]
        assert entry["task"] == task and entry["schedule"] <= 3600
        assert 0 < entry["options"]["expires"] < entry["schedule"]


def test_broken_chain_raises_a_banner_for_admins_and_emails_them_once(
    admin_client, admin_user, viewer_client
):
    for i in range(4):
        record(f"test.{i}")
    assert verify_chain_task()["intact"] is True
    assert b"audit-chain-alert" not in admin_client.get("/").content

    db_guard.uninstall(connection)
    with connection.cursor() as cursor:
        cursor.execute("DELETE FROM audit_auditevent WHERE seq = 2")
    outcome = verify_chain_task()
    assert outcome["intact"] is False and outcome["first_bad_seq"] == 3
    assert outcome["guard_problems"]
    verify = AuditEvent.objects.filter(action="audit.verify").order_by("-seq").first()
    assert verify.result == "failure"

    page = admin_client.get("/").content.decode()
    assert 'id="audit-chain-alert"' in page and "#3" in page
    assert "audit-chain-alert" not in viewer_client.get("/").content.decode()

    assert len(mail.outbox) == 1 and mail.outbox[0].to == [admin_user.email]
    assert "sequence gap" in mail.outbox[0].body
    alert = AuditEvent.objects.get(action="audit.alert")
    assert alert.result == "success" and alert.after["recipients"] == 1

    verify_chain_task()  # the same finding again: the banner stays, no second email
    assert len(mail.outbox) == 1
    assert AuditEvent.objects.filter(action="audit.alert").count() == 1


def _manage(*args, var_dir, checkpoint_dir):
    env = {**os.environ, "DATABASE_URL": _database_url(), "VAR_DIR": str(var_dir),
           "AUDIT_CHECKPOINT_DIR": str(checkpoint_dir)}  # fmt: skip
    return subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=120,
    )  # fmt: skip


@pytest.mark.django_db(transaction=True)
def test_commands_as_subprocesses(tmp_path):
    for i in range(5):
        record(f"test.{i}")
    folder = tmp_path / "checkpoints"
    written = _manage("audit_checkpoint", var_dir=tmp_path, checkpoint_dir=folder)
    assert written.returncode == 0, written.stderr
    line = json.loads(written.stdout.splitlines()[0])
    assert line["seq"] == 5 and line["hash"] == AuditEvent.objects.get(seq=5).hash
    assert f"Checkpoint #5 written to {folder / 'checkpoints.jsonl'}" in written.stdout
    assert _lines(folder) == [line]

    intact = _manage("audit_verify", var_dir=tmp_path, checkpoint_dir=folder)
    assert intact.returncode == 0, intact.stderr
    assert "5 events verified; newest checkpoint #5" in intact.stdout

    db_guard.uninstall(connection)
    with connection.cursor() as cursor:
        cursor.execute("DELETE FROM audit_auditevent WHERE seq >= 4")
    broken = _manage("audit_verify", var_dir=tmp_path, checkpoint_dir=folder)
    assert broken.returncode == 1
    assert "event #4 (missing)" in broken.stderr and "newest events were deleted" in broken.stderr
    assert "Append-only guard: trigger" in broken.stderr


def _settings_check(tmp_path, **extra):
    env = {k: v for k, v in os.environ.items() if k not in {"AUDIT_KEY", "AUDIT_KEY_FILE"}}
    env.update(DEBUG="false", VAR_DIR=str(tmp_path), **extra)
    return subprocess.run(
        [sys.executable, "manage.py", "check"],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=120,
    )  # fmt: skip


def test_production_refuses_to_start_without_an_audit_key(tmp_path):
    refused = _settings_check(tmp_path)
    assert refused.returncode != 0 and "AUDIT_KEY must be set" in refused.stderr
    key_file = tmp_path / "key"
    key_file.write_text("k" * 40 + "\n")
    assert _settings_check(tmp_path, AUDIT_KEY_FILE=str(key_file)).returncode == 0
    (tmp_path / "audit_key").write_text("v" * 40)  # what `make run` writes
    assert _settings_check(tmp_path).returncode == 0
    short = _settings_check(tmp_path, AUDIT_KEY="too-short")
    assert short.returncode != 0 and "at least 32 characters" in short.stderr
