"""The CLI contract, run as a subprocess: --json, exit codes 0/1/2, secrets only from env."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest
from probe_certs import server_context
from probe_servers import PASSWORD, USER, free_port, smtp_server

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def cli(*args, env=None, timeout=30):
    full_env = {**os.environ, "PYTHONPATH": REPO, "PYTHONIOENCODING": "utf-8", **(env or {})}
    return subprocess.run(
        [sys.executable, "-m", "connectivity", *args],
        cwd=REPO, env=full_env, capture_output=True, text=True, timeout=timeout,
    )  # fmt: skip


@pytest.fixture(scope="module")
def smtp_tls(pki):
    with smtp_server(tls_context=server_context(pki.leaf("localhost"), pki.tmpdir)) as srv:
        yield srv


def smtp_args(port, pki):
    return ["smtp", "--host", "localhost", "--port", str(port), "--username", USER,
            "--password-env", "PROBE_PW", "--ca-file", pki.ca_file, "--timeout", "5"]  # fmt: skip


def test_json_success_is_one_object_and_exit_0(smtp_tls, pki):
    port, handler = smtp_tls
    proc = cli(*smtp_args(port, pki), "--json", env={"PROBE_PW": PASSWORD})
    assert proc.returncode == 0, proc.stderr + proc.stdout
    assert proc.stdout.count("\n") == 1
    data = json.loads(proc.stdout)
    assert set(data) == {"probe", "target", "ok", "steps"}
    assert data["probe"] == "smtp" and data["ok"] is True
    assert data["target"] == f"localhost:{port}"
    for step in data["steps"]:
        assert set(step) == {"name", "status", "detail", "hint", "ms"}
        assert step["status"] in {"pass", "warn", "fail", "skip"}
    assert (USER, PASSWORD) in handler.credentials
    assert PASSWORD not in proc.stdout + proc.stderr


def test_failed_step_exits_1_without_leaking_password(smtp_tls, pki):
    port, _ = smtp_tls
    proc = cli(*smtp_args(port, pki), "--json", env={"PROBE_PW": "wrong-secret-value"})
    assert proc.returncode == 1
    data = json.loads(proc.stdout)
    assert data["ok"] is False
    auth = next(s for s in data["steps"] if s["name"] == "Authenticate")
    assert auth["status"] == "fail" and auth["detail"].startswith("535")
    assert "wrong-secret-value" not in proc.stdout + proc.stderr


def test_human_output_is_an_aligned_table(smtp_tls, pki):
    port, _ = smtp_tls
    proc = cli(*smtp_args(port, pki), env={"PROBE_PW": PASSWORD})
    assert proc.returncode == 0
    lines = proc.stdout.splitlines()
    assert lines[0] == f"SMTP  localhost:{port}"
    steps = [line for line in lines if line.startswith("  ✓")]
    assert len(steps) >= 10
    ms_columns = {line.index(" ms ") for line in steps}
    assert len(ms_columns) == 1  # durations line up
    assert lines[-1].startswith("Result: OK")


def test_warning_only_exits_0(pki):
    # security none + AUTH: the credential warning does not make the run fail
    with smtp_server(auth_require_tls=False) as (port, _):
        args = ["smtp", "--host", "127.0.0.1", "--port", str(port), "--security", "none"]
        args += ["--username", USER, "--password-env", "PW", "--json"]
        proc = cli(*args, env={"PW": PASSWORD})
    data = json.loads(proc.stdout)
    assert proc.returncode == 0
    assert any(s["status"] == "warn" for s in data["steps"])


def test_connection_refused_exits_1():
    proc = cli("tcp", "--host", "127.0.0.1", "--port", str(free_port()), "--json")
    assert proc.returncode == 1
    assert json.loads(proc.stdout)["steps"][1]["status"] == "fail"


@pytest.mark.parametrize(
    "args",
    [
        ["smtp", "--host", "bad host"],
        ["smtp", "--host", "mail.contoso.test\r\nRSET"],
        ["tls", "--host", "x", "--port", "70000"],
        ["nosuchprobe", "--host", "x"],
        ["smtp"],
        ["tcp", "--host", "localhost"],
        ["smtp", "--host", "localhost", "--timeout", "-1"],
        ["smtp", "--host", "localhost", "--mail-from", "a@b.test\r\nDATA", "--rcpt-to", "c@d.t"],
        ["smtp", "--host", "localhost", "--username", "u", "--password-env", "UNSET_VAR_X"],
    ],
)
def test_usage_errors_exit_2(args):
    proc = cli(*args, "--json")
    assert proc.returncode == 2, proc.stdout + proc.stderr
    assert proc.stdout == ""


def test_password_on_argv_is_refused_and_not_echoed():
    proc = cli("smtp", "--host", "localhost", "--password", "argv-secret-123")
    assert proc.returncode == 2
    assert "--password-env" in proc.stderr
    assert "argv-secret-123" not in proc.stdout + proc.stderr


def test_ews_cli_with_client_secret_from_env(sandbox):
    mb1, mb2 = (m["address"] for m in sandbox["mailboxes"][:2])
    proc = cli(
        "ews", "--url", sandbox["ews_url"], "--mailbox", mb1, "--impersonate", mb2,
        "--token-url", sandbox["token_url"], "--client-id", sandbox["app_client_id"],
        "--client-secret-env", "APP_SECRET", "--ca-file", sandbox["ca_file"], "--json",
        env={"APP_SECRET": sandbox["app_client_secret"]},
    )  # fmt: skip
    assert proc.returncode == 0, proc.stdout + proc.stderr
    data = json.loads(proc.stdout)
    assert data["probe"] == "ews" and data["ok"]
    assert sandbox["app_client_secret"] not in proc.stdout + proc.stderr


def test_autodiscover_and_mapi_cli(sandbox):
    mb = sandbox["mailboxes"][0]
    common = ["--mailbox", mb["address"], "--username", mb["address"], "--password-env", "MB_PW",
              "--ca-file", sandbox["ca_file"], "--json"]  # fmt: skip
    ok = cli("autodiscover", "--url", sandbox["autodiscover_pox_url"], *common,
             env={"MB_PW": mb["password"]})  # fmt: skip
    assert ok.returncode == 0, ok.stdout + ok.stderr
    assert json.loads(ok.stdout)["probe"] == "autodiscover"
    bad = cli("mapi", "--url", sandbox["mapi_url"], *common, env={"MB_PW": "wrong-pw-123"})
    assert bad.returncode == 1
    assert "wrong-pw-123" not in bad.stdout + bad.stderr


@pytest.mark.parametrize(
    "args",
    [
        ["ews", "--url", "https://127.0.0.1/EWS/Exchange.asmx"],  # no --mailbox
        [
            "ews",
            "--url",
            "http://127.0.0.1/EWS/Exchange.asmx",
            "--mailbox",
            "a@b.test",
            "--username",
            "a",
        ],  # fmt: skip
        ["mapi", "--mailbox", "a@b.test"],
        ["ews", "--host", "x", "--mailbox", "a@b.test", "--client-secret", "s3"],
    ],
)
def test_http_probe_usage_errors_exit_2(args):
    proc = cli(*args, "--json")
    assert proc.returncode == 2, proc.stdout + proc.stderr
    assert "s3" not in proc.stderr.replace("--client-secret", "")
