"""Restart on the same data directory, and the `python -m connectivity.sandbox` contract."""

import json
import os
import signal
import subprocess
import sys
from pathlib import Path

import requests
from exchangelib import ExtendedProperty, Message

from connectivity import ews
from connectivity.sandbox import SandboxServer

from .conftest import GET_INBOX, soap

REPO = Path(__file__).resolve().parents[2]


class Marker(ExtendedProperty):
    distinguished_property_set_id = "PublicStrings"
    property_name = "SandboxRestartMarker"
    property_type = "Integer"


def account(info, address):
    creds = ews.oauth_credentials(
        info["token_url"], info["app_client_id"], info["app_client_secret"]
    )
    return ews.build_account(address, creds, ews_url=info["ews_url"], ca_file=info["ca_file"])


def test_data_survives_restart(tmp_path):
    Message.register("restart_marker", Marker)
    try:
        with SandboxServer(tmp_path, seed_mailboxes=2, seed_items=3, smtp=False) as first:
            before = first.info
            ca_pem = Path(before["ca_file"]).read_bytes()
            extra = first.admin_client().create_mailbox(f"extra@{before['domain']}")
            old_token = ews.fetch_token(
                before["token_url"],
                before["app_client_id"],
                before["app_client_secret"],
                ca_file=before["ca_file"],
            )["access_token"]
            acc = account(before, extra["address"])
            Message(
                account=acc, folder=acc.inbox, subject="persist me", body="kept", restart_marker=42
            ).save()
        with SandboxServer(tmp_path, seed_mailboxes=2, seed_items=3, smtp=False) as second:
            after = second.info
            same = (
                "tenant_id",
                "app_client_id",
                "app_client_secret",
                "limited_client_id",
                "admin_token",
                "mailboxes",
                "ca_file",
            )
            assert {k: after[k] for k in same} == {k: before[k] for k in same}
            assert Path(after["ca_file"]).read_bytes() == ca_pem
            acc = account(after, extra["address"])
            [item] = list(acc.inbox.filter(subject="persist me"))
            assert (item.body, item.restart_marker) == ("kept", 42)
            # Seeding is idempotent: still 3 seeded messages, not 6
            seeded = account(after, after["mailboxes"][0]["address"])
            assert seeded.inbox.all().count() == 3
            assert second.admin_client().state()["items"] == 2 * 3 + 1  # nothing lost or added
            # A token issued before the restart is still accepted (same signing key)
            resp = soap(after, old_token, GET_INBOX, impersonate=extra["address"])
            assert resp.status_code == 200
    finally:
        Message.deregister("restart_marker")


def start_cli(data_dir, *args):
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    return subprocess.Popen(
        [
            sys.executable,
            "-m",
            "connectivity.sandbox",
            "--data",
            str(data_dir),
            "--port",
            "0",
            "--seed-mailboxes",
            "2",
            *args,
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
        cwd=REPO,
    )


def test_cli_prints_one_json_line_and_exits_cleanly_on_sigterm(tmp_path):
    proc = start_cli(tmp_path, "--latency-ms", "5", "--max-concurrency", "27")
    try:
        line = proc.stdout.readline()
        info = json.loads(line)
        required = {
            "ews_url",
            "autodiscover_url",
            "token_url",
            "mapi_url",
            "smtp_host",
            "smtp_port",
            "ca_file",
            "tenant_id",
            "domain",
            "app_client_id",
            "app_client_secret",
            "limited_client_id",
            "limited_client_secret",
            "mailboxes",
            "admin_url",
            "admin_token",
        }
        assert required <= set(info)
        assert len(info["mailboxes"]) == 2
        assert all({"address", "password"} <= set(m) for m in info["mailboxes"])
        assert info["knobs"]["max_concurrency"] == 27 and info["knobs"]["latency_ms"] == 5
        # It really serves: a token and an EWS call through exchangelib
        acc = account(info, info["mailboxes"][0]["address"])
        assert acc.inbox.total_count == 0
        jwks = requests.get(info["jwks_url"], verify=info["ca_file"], timeout=10)
        assert jwks.json()["keys"][0]["kty"] == "RSA"
    finally:
        proc.send_signal(signal.SIGTERM)
        out, err = proc.communicate(timeout=20)
    assert proc.returncode == 0
    assert out == ""  # exactly one JSON line in total
    secrets = [
        info["app_client_secret"],
        info["limited_client_secret"],
        info["admin_token"],
        *(m["password"] for m in info["mailboxes"]),
    ]
    assert not any(s in err for s in secrets)
    assert "listening" in err

    # Same data dir -> same tenant, apps and mailboxes
    proc = start_cli(tmp_path)
    try:
        again = json.loads(proc.stdout.readline())
    finally:
        proc.send_signal(signal.SIGINT)
        proc.communicate(timeout=20)
    assert proc.returncode == 0
    for key in ("tenant_id", "app_client_id", "app_client_secret", "mailboxes", "ca_file"):
        assert again[key] == info[key]
