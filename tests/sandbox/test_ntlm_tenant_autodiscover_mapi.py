"""An NTLM (Exchange Server) tenant's Autodiscover and MAPI tests sign in with NTLM against the
sandbox, through the portal's runner, as its EWS test does (tests/sandbox/test_ntlm_tenant.py).

The sandbox counts a logon only when an NTLMv2 AUTHENTICATE verifies against the CHALLENGE it
issued on the same connection, so a rising ``ntlm_logons`` proves each handshake stayed on one
kept-open connection; an unchanged ``basic_logons`` proves no request fell back to Basic.
"""

import html

import pytest

from portal.runs import runner
from portal.runs.models import Probe, ProbeRun, RunStatus
from portal.tenants.models import Tenant
from portal.tenants.sandbox import sandbox_tenant_fields

HTTP_PROBES = [Probe.AUTODISCOVER, Probe.MAPI]


def _tenant(info, auth, password):
    mailbox = info["mailboxes"][2]
    fields = sandbox_tenant_fields(info)
    fields.update(kind=Tenant.Kind.SERVER, auth_method=auth, client_id="",
                  client_secret="", username=mailbox["address"], password=password,
                  test_mailbox=mailbox["address"])  # fmt: skip
    return Tenant.objects.create(name=f"On-prem {auth} {password[:6]}", **fields)


@pytest.fixture
def admin(sandbox_exchange):
    client = sandbox_exchange.admin_client()
    yield client
    client.set_knobs(windows_auth=True)  # the sandbox is shared by the whole session
    client.close()


@pytest.fixture
def logons(admin):
    def read():
        stats = admin.state()["stats"]
        return stats["ntlm_logons"], stats["basic_logons"]

    return read


def _failed(run) -> list[dict]:
    return [step for step in run.steps if step["status"] == "fail"]


@pytest.mark.parametrize("probe", HTTP_PROBES)
def test_ntlm_tenant_signs_in_with_ntlm_and_a_wrong_password_fails(
    db, sandbox_exchange, logons, probe
):
    info = sandbox_exchange.info
    good = _tenant(info, Tenant.Auth.NTLM, info["mailboxes"][2]["password"])
    ntlm_before, basic_before = logons()
    run = runner.execute(ProbeRun.objects.create(tenant=good, probe=probe))
    assert run.status == RunStatus.PASS, run.steps
    ntlm_after, basic_after = logons()
    assert ntlm_after > ntlm_before, "the sandbox saw no completed NTLM handshake"
    assert basic_after == basic_before, "the NTLM tenant's credentials went out as Basic"
    assert any("signed in with NTLM" in str(step) for step in run.steps), run.steps

    bad = _tenant(info, Tenant.Auth.NTLM, "not-the-password")
    ntlm_before, basic_before = logons()
    run = runner.execute(ProbeRun.objects.create(tenant=bad, probe=probe))
    assert run.status == RunStatus.FAIL, run.steps
    failed = _failed(run)
    assert "401 Unauthorized" in str(failed), failed
    assert "refused the NTLM sign-in" in str(failed), failed
    assert "not-the-password" not in str(run.steps)
    assert logons() == (ntlm_before, basic_before)


@pytest.mark.parametrize("probe", HTTP_PROBES)
def test_basic_tenant_still_signs_in_with_basic(db, sandbox_exchange, logons, probe):
    info = sandbox_exchange.info
    tenant = _tenant(info, Tenant.Auth.BASIC, info["mailboxes"][2]["password"])
    ntlm_before, basic_before = logons()
    run = runner.execute(ProbeRun.objects.create(tenant=tenant, probe=probe))
    assert run.status == RunStatus.PASS, run.steps
    ntlm_after, basic_after = logons()
    assert basic_after > basic_before and ntlm_after == ntlm_before
    assert "signed in with NTLM" not in str(run.steps)


@pytest.mark.parametrize("probe", HTTP_PROBES)
def test_a_server_without_windows_authentication_fails_the_ntlm_step_in_words(
    db, sandbox_exchange, admin, logons, probe, viewer_client
):
    info = sandbox_exchange.info
    tenant = _tenant(info, Tenant.Auth.NTLM, info["mailboxes"][2]["password"])
    admin.set_knobs(windows_auth=False)  # IIS offers Bearer and Basic only
    before = logons()
    run = runner.execute(ProbeRun.objects.create(tenant=tenant, probe=probe))
    assert run.status == RunStatus.FAIL, run.steps
    assert logons() == before, "no logon of either kind may happen"
    step = _failed(run)[0]
    assert "the server does not offer NTLM (it offers: Bearer, Basic)" in step["detail"], step
    assert "Windows authentication" in step["hint"] and "{auth_method}" in step["hint"], step

    # The run page names the tenant's field to change, in the reader's language.
    for language, words in (("en", "choose Basic with the tenant's “Authentication” field"),
                            ("ru", "поле клиента «Проверка подлинности»")):  # fmt: skip
        response = viewer_client.get(f"/connectivity/runs/{run.pk}/",
                                     HTTP_ACCEPT_LANGUAGE=language)  # fmt: skip
        assert response.status_code == 200
        page = html.unescape(response.content.decode())
        assert words in page, language
        assert "{auth_method}" not in page
