"""A portal tenant set up for NTLM (Exchange Server) runs the EWS test against the sandbox.

The portal's EWS probe (connectivity/probes/ews.py) signs such a tenant in with the username and
password over Basic today; the NTLM exchange itself is proven with exchangelib in test_ntlm.py.
"""

from portal.runs import runner
from portal.runs.models import Probe, ProbeRun, RunStatus
from portal.tenants.models import Tenant
from portal.tenants.sandbox import sandbox_tenant_fields


def _tenant(info, password):
    mailbox = info["mailboxes"][2]
    fields = sandbox_tenant_fields(info)
    fields.update(kind=Tenant.Kind.SERVER, auth_method=Tenant.Auth.NTLM, client_id="",
                  client_secret="", username=mailbox["address"], password=password,
                  test_mailbox=mailbox["address"])  # fmt: skip
    return Tenant.objects.create(name=f"On-prem NTLM {password[:6]}", **fields)


def test_ntlm_tenant_ews_test_passes_and_a_wrong_password_fails(db, sandbox_exchange):
    info = sandbox_exchange.info
    good = _tenant(info, info["mailboxes"][2]["password"])
    run = runner.execute(ProbeRun.objects.create(tenant=good, probe=Probe.EWS))
    assert run.status == RunStatus.PASS, run.steps
    bad = _tenant(info, "not-the-password")
    run = runner.execute(ProbeRun.objects.create(tenant=bad, probe=Probe.EWS))
    assert run.status == RunStatus.FAIL, run.steps
