"""The generated PowerShell: every value stays inside its own quoted argument, whatever it holds.

No PowerShell runs here (none is packaged for this system); the scripts are read with the quoting
rules of PowerShell's tokenizer (tests/grants/pstokens.py): a script made from hostile values
must have exactly the shape of the one made from plain values, and each literal must read back
as the value it came from.
"""

import html
import random
import re

import pytest

from portal.grants import powershell
from portal.grants.models import Application, Grant
from portal.tenants.models import Tenant
from tests.grants import pstokens

HOSTILE = [
    "'; Remove-Mailbox -Identity * -Confirm:$false; '",
    "\u2018; Stop-Computer; \u2019", "\u201a$(calc)\u201b", "''", "'", "\u2019", "x'", "'x",
    "$(Invoke-Expression 'whoami')", "${env:PATH}", "`$x`'; calc", "a;b|c&d", "@(1)", '"; calc; "',
    "\u201c$(calc)\u201d", "#comment", "<# block #>", "' + (calc) + '", "o'brien@contoso.example",
    "\u2018\u2019\u201a\u201b'", "\\'", "-Confirm:$false", "x' -Role 'Organization Management",
]  # fmt: skip
ALPHABET = "'\u2018\u2019\u201a\u201b\"\u201c\u201d\u201e`$(){};|&#<>@ -aZ\\"
SCOPES = {"all": "", "group": "Sales", "filter": "Department -eq 'Sales'", "list": ""}


def build(value: str, model: str, scope: str, kind: str = "online") -> Grant:
    tenant = Tenant(name="T", kind=kind)
    app = Application(tenant=tenant, name=value, owner="o", client_id=value,
                      service_principal_id=value, service_account=value)  # fmt: skip
    grant = Grant(pk=7, application=app, model=model, role=value, scope=scope,
                  scope_value=value if scope in ("group", "filter") else "",
                  mailboxes=[value, value + "2"] if scope == "list" else [])  # fmt: skip
    return grant


def cases():
    for model in powershell._BUILDERS:
        for scope in SCOPES:
            for action in powershell.ACTIONS:
                yield model, scope, action


@pytest.mark.parametrize("model,scope,action", list(cases()))
def test_hostile_values_keep_the_script_shape(model, scope, action):
    plain_skeleton, plain_values = pstokens.split(
        powershell.generate(build("plainvalue", model, scope), action).text
    )
    assert "plainvalue" not in plain_skeleton, "a value escaped its quotes"
    rng = random.Random(f"{model}{scope}{action}")
    samples = HOSTILE + ["".join(rng.choice(ALPHABET) for _ in range(rng.randint(1, 12)))
                         for _ in range(40)]  # fmt: skip
    for value in samples:
        text = powershell.generate(build(value, model, scope), action).text
        skeleton, values = pstokens.split(text)
        assert skeleton == plain_skeleton, f"{value!r} changed the script's shape"
        expected = [v.replace("plainvalue", value) for v in plain_values]
        assert values == expected, f"{value!r} does not read back"


def test_quote_doubles_every_single_quote_kind():
    assert powershell.quote("it's") == "'it''s'"
    for q in "\u2018\u2019\u201a\u201b":
        assert powershell.quote(f"a{q}b") == f"'a{q}{q}b'"
    assert powershell.quote("$(x) `n ;") == "'$(x) `n ;'"  # literal inside single quotes


@pytest.mark.parametrize("value", ["a\nb", "a\rb", "a\u2028b", "a\x00b", "a\u0085b", "\x1b[31m"])
def test_line_breaks_and_controls_are_refused(value):
    with pytest.raises(powershell.UnsafeValue):
        powershell.generate(build(value, "rbac", "list"), "apply")


def test_scripts_use_the_documented_cmdlets():
    def text(model, scope, action, kind="online"):
        return powershell.generate(build("v", model, scope, kind), action).text

    apply = text("rbac", "filter", "apply")
    assert "New-ServicePrincipal -AppId 'v' -ObjectId 'v'" in apply
    assert "New-ManagementScope -Name 'Portal grant 7' -RecipientRestrictionFilter $filter" in apply
    assert ("New-ManagementRoleAssignment -App 'v' -Role 'v' -CustomResourceScope "
            "'Portal grant 7'") in apply  # fmt: skip
    assert "Test-ServicePrincipalAuthorization -Identity 'v'" in text("rbac", "list", "check")
    assert "New-ApplicationAccessPolicy -AppId 'v' -PolicyScopeGroupId 'v' -AccessRight " \
           "RestrictAccess" in text("access_policy", "group", "apply")  # fmt: skip
    assert "Test-ApplicationAccessPolicy" in text("access_policy", "group", "check")
    assert ("New-ManagementRoleAssignment -Name 'Portal grant 7 assignment' -Role "
            "ApplicationImpersonation -User 'v' -CustomRecipientWriteScope 'Portal grant 7'"
            ) in text("impersonation", "group", "apply", "server")  # fmt: skip
    assert "Add-MailboxPermission -Identity $mailbox -User 'v' -AccessRights FullAccess" in text(
        "full_access", "list", "apply"
    )
    assert "Remove-MailboxPermission" in text("full_access", "list", "remove")
    assert "Remove-ManagementScope -Identity 'Portal grant 7'" in text("rbac", "group", "remove")


@pytest.mark.django_db
def test_page_download_and_cli_print_the_same_script(viewer_client, operator_user, application):
    from tests.grants.conftest import make_grant

    grant = make_grant(application, operator_user, scope="group", mailboxes=[],
                       scope_value="Sales ‘team’ $(x)")  # fmt: skip
    page = viewer_client.get(f"/grants/{grant.pk}/script/?action=check")
    shown = html.unescape(re.search(r"<pre[^>]*><code>(.*?)</code></pre>", page.text, re.S)[1])
    download = viewer_client.get(f"/grants/{grant.pk}/script/download/?action=check")
    assert download["Content-Disposition"] == f'attachment; filename="grant-{grant.pk}-check.ps1"'
    assert download.content.decode() == shown == powershell.generate(grant, "check").text
    assert "'Sales ‘‘team’’ $(x)'" in shown


@pytest.mark.django_db
def test_unsafe_value_is_explained_not_a_500(viewer_client, operator_user, application):
    from tests.grants.conftest import make_grant

    grant = make_grant(application, operator_user, scope="filter", mailboxes=[],
                       scope_value="a\nb")  # fmt: skip
    page = viewer_client.get(f"/grants/{grant.pk}/script/")
    assert page.status_code == 400 and "no safe script can be written" in page.text
