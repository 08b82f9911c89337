"""EWS probe against the Sandbox Exchange: GetFolder and Service Account Access."""

from __future__ import annotations

from connectivity.probes.core import Status
from connectivity.probes.ews import (
    GETFOLDER,
    SA_ACCESS,
    SA_CREATE,
    SA_DELETE,
    SA_READ,
    TOKEN,
    probe_ews,
)


def app(sandbox, limited=False, **kw):
    prefix = "limited" if limited else "app"
    args = {
        "url": sandbox["ews_url"],
        "token_url": sandbox["token_url"],
        "client_id": sandbox[f"{prefix}_client_id"],
        "client_secret": sandbox[f"{prefix}_client_secret"],
        "tenant_id": sandbox["tenant_id"],
        "ca_file": sandbox["ca_file"],
        "timeout": 10,
    }
    args.update(kw)
    return args


def test_app_only_getfolder_and_service_account_access(sandbox):
    mb1, mb2 = sandbox["mailboxes"][0]["address"], sandbox["mailboxes"][1]["address"]
    seen = []
    result = probe_ews(mb1, impersonate=mb2, on_step=seen.append, **app(sandbox))
    assert result.ok, result.to_dict()
    assert result.step(TOKEN).detail.startswith("client credentials for")
    assert "Inbox has" in result.step(GETFOLDER).detail
    assert "via impersonation" in result.step(GETFOLDER).detail
    for name in (SA_ACCESS, SA_CREATE, SA_READ, SA_DELETE):
        assert result.step(name).status == Status.PASS, name
    assert [s.name for s in seen] == [s.name for s in result.steps]
    assert sandbox["app_client_secret"] not in str(result.to_dict())


def test_basic_auth_getfolder(sandbox):
    mb = sandbox["mailboxes"][0]
    result = probe_ews(
        mb["address"], url=sandbox["ews_url"], username=mb["address"], password=mb["password"],
        ca_file=sandbox["ca_file"], timeout=10,
    )  # fmt: skip
    assert result.ok, result.to_dict()
    assert result.step(TOKEN).status == Status.SKIP
    assert mb["password"] not in str(result.to_dict())


def test_wrong_client_secret_fails_token_step(sandbox):
    mb = sandbox["mailboxes"][0]["address"]
    result = probe_ews(mb, **app(sandbox, client_secret="not-the-secret"))
    step = result.step(TOKEN)
    assert step.status == Status.FAIL
    assert "token endpoint refused" in step.detail and "full_access_as_app" in step.hint
    assert result.step(GETFOLDER).status == Status.SKIP
    assert "not-the-secret" not in str(result.to_dict())


def test_limited_app_has_no_impersonation_rights(sandbox):
    mb = sandbox["mailboxes"][1]["address"]
    result = probe_ews(mb, **app(sandbox, limited=True))
    step = result.step(GETFOLDER)
    assert step.status == Status.FAIL
    assert step.detail.startswith("ErrorImpersonateUserDenied")
    assert step.hint.startswith("Service Account Does Not Have Impersonation Rights")
    assert "RBAC for Applications" in step.hint
