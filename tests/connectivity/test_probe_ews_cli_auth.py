"""`python -m connectivity ews --auth ntlm|basic` as a subprocess against the sandbox started
the way other tools start it; the sandbox's logon counters show which scheme went out."""

from __future__ import annotations

import json

import pytest
from test_probe_cli import cli

from connectivity.sandbox.client import AdminClient


@pytest.fixture
def logons(sandbox):
    client = AdminClient(sandbox["admin_url"], sandbox["admin_token"], sandbox["ca_file"], 10)

    def read():
        stats = client.state()["stats"]
        return stats["ntlm_logons"], stats["basic_logons"]

    yield read
    client.close()


def _ews(sandbox, password, *extra):
    mb = sandbox["mailboxes"][0]
    return cli(
        "ews", "--url", sandbox["ews_url"], "--mailbox", mb["address"], "--username",
        mb["address"], "--password-env", "MB_PW", "--ca-file", sandbox["ca_file"], "--json",
        *extra, env={"MB_PW": password},
    )  # fmt: skip


@pytest.mark.parametrize(("flags", "scheme"), [((), "basic"), (("--auth", "basic"), "basic"),
                                               (("--auth", "ntlm"), "ntlm")])  # fmt: skip
def test_ews_cli_signs_in_with_the_chosen_scheme(sandbox, logons, flags, scheme):
    ntlm_before, basic_before = logons()
    proc = _ews(sandbox, sandbox["mailboxes"][0]["password"], *flags)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    data = json.loads(proc.stdout)
    assert data["probe"] == "ews" and data["ok"]
    ntlm_after, basic_after = logons()
    if scheme == "ntlm":
        assert ntlm_after > ntlm_before and basic_after == basic_before
    else:
        assert basic_after > basic_before and ntlm_after == ntlm_before


def test_ews_cli_ntlm_with_a_wrong_password_exits_1_without_echoing_it(sandbox):
    proc = _ews(sandbox, "wrong-pw-456", "--auth", "ntlm")
    assert proc.returncode == 1, proc.stdout + proc.stderr
    assert not json.loads(proc.stdout)["ok"]
    assert "wrong-pw-456" not in proc.stdout + proc.stderr


@pytest.mark.parametrize("probe", ["smtp", "imap", "pop3"])
def test_ntlm_is_refused_for_probes_that_cannot_use_it(probe):
    proc = cli(probe, "--host", "127.0.0.1", "--mailbox", "a@b.test", "--auth", "ntlm", "--json")
    assert proc.returncode == 2, proc.stdout + proc.stderr
    assert "--auth ntlm is for ews, autodiscover and mapi" in proc.stderr
