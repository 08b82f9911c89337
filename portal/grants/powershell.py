"""The PowerShell an Exchange admin runs to apply, check and remove a grant — one module.

The portal only writes the script; it never runs it. Every value that comes from a person
(names, addresses, filters, ids) reaches the script only as a PowerShell single-quoted string
literal made by :func:`quote`, so no character in it can end the literal, start a subexpression
or a second command. Filters that need a value inside them are assembled by the script itself
from such literals (``-f`` with the quotes doubled), never by pasting text into code.

Cmdlets and facts: platform-2026 reference ("EWS authentication and application access").
"""

from dataclasses import dataclass

from portal.lib.validators import has_control_characters

ACTIONS = ("apply", "check", "remove")
# PowerShell ends a single-quoted string at any of these (tokenizer: IsSingleQuote); inside the
# literal, two in a row stand for the second one, so each is doubled.
SINGLE_QUOTES = ("'", "\u2018", "\u2019", "\u201a", "\u201b")
EXO_RESOURCE_APP = "00000002-0000-0ff1-ce00-000000000000"


class UnsafeValue(ValueError):
    """A value holds a line break or control character: refused rather than written out."""


def quote(value) -> str:
    """``value`` as a PowerShell single-quoted literal that yields exactly ``value``."""
    text = str(value)
    if has_control_characters(text):
        raise UnsafeValue(text)
    return "'" + "".join(c + c if c in SINGLE_QUOTES else c for c in text) + "'"


@dataclass(frozen=True)
class Script:
    action: str
    text: str
    filename: str


def scope_name(grant) -> str:
    return f"Portal grant {grant.pk}"


def assignment_name(grant) -> str:
    return f"Portal grant {grant.pk} assignment"


def generate(grant, action: str) -> Script:
    if action not in ACTIONS:
        raise ValueError(action)
    model = grant.model
    body = _BUILDERS[model](grant, action)
    online = grant.application.tenant.kind == "online"
    head = [
        f"# Grant {grant.pk}: {action} ({_MODEL_WORDS[model]}).",
        "# Written by the Exchange Interop Portal; review it, then run it yourself.",
        "# Exchange Online PowerShell: Connect-ExchangeOnline first."
        if online
        else "# Run in the Exchange Management Shell.",
        "$ErrorActionPreference = 'Stop'",
        "",
    ]
    text = "\n".join(head + body) + "\n"
    return Script(action, text, f"grant-{grant.pk}-{action}.ps1")


_MODEL_WORDS = {
    "rbac": "RBAC for Applications",
    "access_policy": "Application Access Policy",
    "entra": "Entra full_access_as_app",
    "impersonation": "ApplicationImpersonation on Exchange Server",
    "full_access": "mailbox FullAccess",
}


def _principal(grant) -> str:
    app = grant.application
    if grant.model in ("impersonation", "full_access") and app.service_account:
        return app.service_account
    return app.service_principal_id or app.client_id or app.service_account


def _scope_filter_lines(grant) -> list[str]:
    """Set ``$filter`` to the grant's recipient filter, built inside the script."""
    if grant.scope == "filter":
        return [f"$filter = {quote(grant.scope_value)}"]
    if grant.scope == "group":
        return [
            f"$group = Get-Group -Identity {quote(grant.scope_value)}",
            "$filter = \"MemberOfGroup -eq '{0}'\" -f "
            '($group.DistinguishedName -replace "\'", "\'\'")',
        ]
    if grant.scope == "list":
        addresses = ", ".join(quote(m) for m in grant.mailboxes)
        return [
            f"$mailboxes = @({addresses})",
            "$filter = ($mailboxes | ForEach-Object { \"PrimarySmtpAddress -eq '{0}'\" -f "
            "($_ -replace \"'\", \"''\") }) -join ' -or '",
        ]
    return []


def _samples(grant) -> list[str]:
    """Mailboxes to test against: the listed ones, or the group's first members."""
    if grant.scope == "list":
        return [f"$samples = @({', '.join(quote(m) for m in grant.mailboxes)})"]
    if grant.scope == "group":
        return [
            f"$samples = Get-DistributionGroupMember -Identity {quote(grant.scope_value)} "
            "-ResultSize 5 | ForEach-Object { $_.PrimarySmtpAddress.ToString() }"
        ]
    return [
        "$samples = Get-Mailbox -ResultSize 5 | ForEach-Object { $_.PrimarySmtpAddress.ToString() }"
    ]


def _rbac(grant, action) -> list[str]:
    app = grant.application
    client, scope = quote(app.client_id), quote(scope_name(grant))
    role = quote(grant.role)
    scoped = grant.scope != "all"
    if action == "apply":
        lines = [
            "# The service principal: the Entra application as Exchange knows it.",
            f"if (-not (Get-ServicePrincipal -Identity {client} -ErrorAction SilentlyContinue)) {{",
            f"    New-ServicePrincipal -AppId {client} -ObjectId {quote(app.service_principal_id)} "
            f"-DisplayName {quote(app.name)}",
            "}",
        ]
        if scoped:
            lines += [
                *_scope_filter_lines(grant),
                f"New-ManagementScope -Name {scope} -RecipientRestrictionFilter $filter",
                f"New-ManagementRoleAssignment -App {client} -Role {role} "
                f"-CustomResourceScope {scope}",
            ]
        else:
            lines += [
                "# No scope: the role applies to every mailbox in the organization.",
                f"New-ManagementRoleAssignment -App {client} -Role {role}",
            ]
        lines += [
            "# Unscoped Entra consent (full_access_as_app, Mail.*) is NOT limited by this "
            "scope: remove it in Entra ID."
        ]
        return lines
    if action == "check":
        return [
            f"Get-ManagementRoleAssignment -RoleAssignee {client} | "
            "Format-Table Name, Role, CustomResourceScope",
            *_samples(grant),
            "foreach ($mailbox in $samples) {",
            f"    Test-ServicePrincipalAuthorization -Identity {client} -Resource $mailbox | "
            "Format-Table RoleName, GrantedPermissions, AllowedResourceScope, ScopeType, InScope",
            "}",
        ]
    lines = [
        f"Get-ManagementRoleAssignment -RoleAssignee {client} | "
        f"Where-Object {{ $_.Role -eq {role} }} | Remove-ManagementRoleAssignment -Confirm:$false"
    ]
    if scoped:
        lines.append(f"Remove-ManagementScope -Identity {scope} -Confirm:$false")
    lines.append(
        "# The service principal stays: other grants may use it "
        "(Remove-ServicePrincipal when none does)."
    )
    return lines


def _access_policy(grant, action) -> list[str]:
    client, group = quote(grant.application.client_id), quote(grant.scope_value)
    if action == "apply":
        return [
            "# Legacy model (at most 300 policies per tenant); prefer RBAC for Applications.",
            f"New-ApplicationAccessPolicy -AppId {client} -PolicyScopeGroupId {group} "
            f"-AccessRight RestrictAccess -Description {quote(f'Portal grant {grant.pk}')}",
        ]
    if action == "check":
        return [
            *_samples(grant),
            "foreach ($mailbox in $samples) {",
            f"    Test-ApplicationAccessPolicy -Identity $mailbox -AppId {client} | "
            "Format-Table AppId, Mailbox, AccessCheckResult",
            "}",
        ]
    return [
        f"Get-ApplicationAccessPolicy | Where-Object {{ $_.AppId -eq {client} -and "
        f"$_.ScopeName -eq {group} }} | Remove-ApplicationAccessPolicy -Confirm:$false"
    ]


def _entra(grant, action) -> list[str]:
    client = quote(grant.application.client_id)
    find = [
        "Connect-MgGraph -Scopes 'AppRoleAssignment.ReadWrite.All', 'Application.Read.All'",
        f"$app = Get-MgServicePrincipal -All | Where-Object {{ $_.AppId -eq {client} }}",
        "$exchange = Get-MgServicePrincipal -All | "
        f"Where-Object {{ $_.AppId -eq {quote(EXO_RESOURCE_APP)} }}",
        "$role = $exchange.AppRoles | Where-Object { $_.Value -eq 'full_access_as_app' }",
    ]
    assigned = (
        "$assignment = Get-MgServicePrincipalAppRoleAssignment -ServicePrincipalId $app.Id | "
        "Where-Object { $_.AppRoleId -eq $role.Id }"
    )
    if action == "apply":
        return [
            "# Microsoft Graph PowerShell: full_access_as_app reaches EVERY mailbox in the "
            "tenant; no Exchange scope limits it.",
            *find,
            "New-MgServicePrincipalAppRoleAssignment -ServicePrincipalId $app.Id "
            "-PrincipalId $app.Id -ResourceId $exchange.Id -AppRoleId $role.Id",
        ]
    if action == "check":
        return [
            *find,
            assigned,
            "if ($assignment) { 'full_access_as_app is granted' } "
            "else { 'full_access_as_app is NOT granted' }",
        ]
    return [
        *find,
        assigned,
        "$assignment | ForEach-Object { Remove-MgServicePrincipalAppRoleAssignment "
        "-ServicePrincipalId $app.Id -AppRoleAssignmentId $_.Id }",
    ]


def _impersonation(grant, action) -> list[str]:
    user, name, scope = (
        quote(_principal(grant)),
        quote(assignment_name(grant)),
        quote(scope_name(grant)),
    )
    scoped = grant.scope != "all"
    if action == "apply":
        lines = [
            "# Exchange Server only: the role was removed from Exchange Online in February 2025."
        ]
        if scoped:
            lines += [
                *_scope_filter_lines(grant),
                f"New-ManagementScope -Name {scope} -RecipientRestrictionFilter $filter",
                f"New-ManagementRoleAssignment -Name {name} -Role ApplicationImpersonation "
                f"-User {user} -CustomRecipientWriteScope {scope}",
            ]
        else:
            lines.append(
                f"New-ManagementRoleAssignment -Name {name} -Role ApplicationImpersonation "
                f"-User {user}"
            )
        return lines
    if action == "check":
        return [
            f"Get-ManagementRoleAssignment -Identity {name} | "
            "Format-List Role, RoleAssigneeName, CustomRecipientWriteScope",
            "Get-ManagementRoleAssignment -Role ApplicationImpersonation -GetEffectiveUsers | "
            f"Where-Object {{ $_.EffectiveUserName -eq {user} }}",
        ]
    lines = [f"Remove-ManagementRoleAssignment -Identity {name} -Confirm:$false"]
    if scoped:
        lines.append(f"Remove-ManagementScope -Identity {scope} -Confirm:$false")
    return lines


def _full_access(grant, action) -> list[str]:
    app = grant.application
    user = quote(_principal(grant))
    lines = [f"$mailboxes = @({', '.join(quote(m) for m in grant.mailboxes)})"]
    if action == "apply":
        if app.tenant.kind == "online" and app.client_id and not app.service_account:
            lines += [
                f"if (-not (Get-ServicePrincipal -Identity {quote(app.client_id)} "
                "-ErrorAction SilentlyContinue)) {",
                f"    New-ServicePrincipal -AppId {quote(app.client_id)} "
                f"-ObjectId {quote(app.service_principal_id)} -DisplayName {quote(app.name)}",
                "}",
            ]
        verb = (
            f"Add-MailboxPermission -Identity $mailbox -User {user} -AccessRights FullAccess "
            "-InheritanceType All -AutoMapping $false"
        )
    elif action == "check":
        verb = f"Get-MailboxPermission -Identity $mailbox -User {user}"
    else:
        verb = (
            f"Remove-MailboxPermission -Identity $mailbox -User {user} -AccessRights FullAccess "
            "-InheritanceType All -Confirm:$false"
        )
    return [*lines, "foreach ($mailbox in $mailboxes) {", f"    {verb}", "}"]


_BUILDERS = {
    "rbac": _rbac,
    "access_policy": _access_policy,
    "entra": _entra,
    "impersonation": _impersonation,
    "full_access": _full_access,
}
