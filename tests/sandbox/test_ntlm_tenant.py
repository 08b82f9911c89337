"""A portal tenant set up for NTLM (Exchange Server) runs the EWS test against the sandbox.

The portal's runner hands the tenant's auth method to the EWS probe, which has exchangelib sign
in with NTLM; the sandbox counts completed NTLM and Basic logons, so the test sees which scheme
really went over the wire (a Basic fallback would pass the run but fail this test).
"""

import pytest

from portal.runs import runner
from portal.runs.models import Probe, ProbeRun, RunStatus
from portal.tenants.models import Tenant
from portal.tenants.sandbox import sandbox_tenant_fields


def _tenant(info, auth, password):
    mailbox = info["mailboxes"][2]
    fields = sandbox_tenant_fields(info)
    fields.update(kind=Tenant.Kind.SERVER, auth_method=auth, client_id="",
                  client_secret="", username=mailbox["address"], password=password,
                  test_mailbox=mailbox["address"])  # fmt: skip
    return Tenant.objects.create(name=f"On-prem {auth} {password[:6]}", **fields)


@pytest.fixture
def logons(sandbox_exchange):
    client = sandbox_exchange.admin_client()

    def read():
        stats = client.state()["stats"]
        return stats["ntlm_logons"], stats["basic_logons"]

    yield read
    client.close()


def test_ntlm_tenant_signs_in_with_ntlm_and_a_wrong_password_fails(db, sandbox_exchange, logons):
    info = sandbox_exchange.info
    good = _tenant(info, Tenant.Auth.NTLM, info["mailboxes"][2]["password"])
    ntlm_before, basic_before = logons()
    run = runner.execute(ProbeRun.objects.create(tenant=good, probe=Probe.EWS))
    assert run.status == RunStatus.PASS, run.steps
    ntlm_after, basic_after = logons()
    assert ntlm_after > ntlm_before, "the sandbox saw no completed NTLM handshake"
    assert basic_after == basic_before, "the NTLM tenant's credentials went out as Basic"
    assert any("NTLM authentication as" in str(step) for step in run.steps), run.steps

    bad = _tenant(info, Tenant.Auth.NTLM, "not-the-password")
    ntlm_before, basic_before = logons()
    run = runner.execute(ProbeRun.objects.create(tenant=bad, probe=Probe.EWS))
    assert run.status == RunStatus.FAIL, run.steps
    assert logons() == (ntlm_before, basic_before)


def test_basic_tenant_still_signs_in_with_basic(db, sandbox_exchange, logons):
    info = sandbox_exchange.info
    tenant = _tenant(info, Tenant.Auth.BASIC, info["mailboxes"][2]["password"])
    ntlm_before, basic_before = logons()
    run = runner.execute(ProbeRun.objects.create(tenant=tenant, probe=Probe.EWS))
    assert run.status == RunStatus.PASS, run.steps
    ntlm_after, basic_after = logons()
    assert basic_after > basic_before and ntlm_after == ntlm_before
