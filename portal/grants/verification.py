"""Verify grants: choose the sample mailboxes, act as the application, keep the evidence.

The engine (connectivity.grants_verify) talks to Exchange; this module only decides what to try
and records what came back: one GrantCheck per grant per run, the grant's latest outcome, and
one audit event.
"""

from django.conf import settings
from django.db import transaction

from connectivity.grants_verify import UNKNOWN, AppEndpoint, check_access
from portal.audit.api import record
from portal.grants.models import Grant, GrantCheck
from portal.runs.runner import ca_file_for

IN_SAMPLE = 5
# Stored and printed in English (the CLI's JSON); the page says it in the reader's language.
NO_CREDENTIAL = "no credential to act as the application: add its client secret"
NO_SAMPLE = "no mailbox inside the scope to try: list sample mailboxes on the grant"
NOT_ACTABLE = ("the portal acts only as an app-only application with a client secret or as a "
               "service account with Basic: this application signs in otherwise")  # fmt: skip


def live_grants(tenant=None, grant_id=None):
    grants = Grant.objects.filter(status__in=Grant.LIVE).select_related("application__tenant")
    if tenant is not None:
        grants = grants.filter(application__tenant=tenant)
    if grant_id is not None:
        grants = grants.filter(pk=grant_id)
    return grants.order_by("pk")


def samples(grant: Grant) -> tuple[list[str], list[str], bool]:
    """(in-scope sample, out-of-scope sample, whether resolved names may join the latter).

    Only an explicit list tells for sure who is outside the scope; for a group or a filter the
    recorded sample mailboxes are tried inside, and nothing is assumed about the rest.
    """
    tenant = grant.application.tenant
    known = [tenant.test_mailbox.lower()] if tenant.test_mailbox else []
    listed = [m.lower() for m in grant.mailboxes]
    if grant.scope == Grant.Scope.ALL:
        return (listed or known)[:IN_SAMPLE], [], False
    if grant.scope == Grant.Scope.LIST:
        outside = [m for m in known if m not in listed]
        return listed[:IN_SAMPLE], outside, True
    return listed[:IN_SAMPLE], [], False


def verify(grant: Grant, job_id: str = "") -> GrantCheck:
    app, tenant = grant.application, grant.application.tenant
    inside, outside, resolve = samples(grant)
    ep = tenant.endpoints()
    basic = app.auth == app.Auth.BASIC and bool(app.service_account)
    if not (basic or app.auth == app.Auth.APP_SECRET):
        check = GrantCheck(grant=grant, outcome=UNKNOWN, detail=NOT_ACTABLE)
    elif not app.credential_secret or not (app.client_id or basic):
        check = GrantCheck(grant=grant, outcome=UNKNOWN, detail=NO_CREDENTIAL)
    elif not inside:
        check = GrantCheck(grant=grant, outcome=UNKNOWN, detail=NO_SAMPLE)
    else:
        endpoint = AppEndpoint(
            ews_url=ep["ews_url"], token_url=ep["token_url"], client_id=app.client_id,
            client_secret=app.credential_secret, scope=ep["scope"], ca_file=ca_file_for(tenant),
            timeout=settings.PROBE_TIMEOUT,
            username=app.service_account if basic else "",
            password=app.credential_secret if basic else "",
        )  # fmt: skip
        listed = {m.lower() for m in grant.mailboxes}
        report = check_access(
            endpoint, inside, outside, resolve_query=tenant.primary_domain if resolve else "",
            out_of_scope_allowed=(lambda a: a not in listed) if resolve else None,
        )  # fmt: skip
        check = GrantCheck(grant=grant, outcome=report.outcome(),
                           evidence=[e.as_dict() for e in report.evidence],
                           resolved=report.resolved, detail=_detail(report))  # fmt: skip
    check.job_id = job_id
    with transaction.atomic():
        check.save()
        Grant.objects.filter(pk=grant.pk).update(last_outcome=check.outcome,
                                                 last_checked_at=check.checked_at)  # fmt: skip
        record("grant.verify", target=grant, tenant=tenant,
               result="success" if check.outcome == "verified" else "failure",
               after={"outcome": check.outcome, "detail": check.detail,
                      **summary(check)})  # fmt: skip
    grant.last_outcome, grant.last_checked_at = check.outcome, check.checked_at
    return check


def _detail(report) -> str:
    if report.token_error:
        return report.token_error
    refused = [e for e in report.evidence if e.expected == "in" and not e.reached]
    reached = [e for e in report.evidence if e.expected == "out" and e.reached]
    if reached:
        return (f"reached {len(reached)} mailbox(es) outside the recorded scope, "
                f"e.g. {reached[0].mailbox}")  # fmt: skip
    if refused:
        return f"{refused[0].mailbox}: {refused[0].detail}"[:500]
    return "in-scope mailboxes reachable, out-of-scope mailboxes refused"


def summary(check: GrantCheck) -> dict:
    def rows(expected):
        return [e for e in check.evidence if e["expected"] == expected]

    inside, outside = rows("in"), rows("out")
    reached_out = [e["mailbox"] for e in outside if e["reached"]]
    return {
        "in_scope": {"tried": len(inside), "reached": sum(e["reached"] for e in inside)},
        "out_of_scope": {"tried": len(outside), "reached": len(reached_out),
                         "reached_examples": reached_out[:3]},
    }  # fmt: skip


def as_json(check: GrantCheck) -> dict:
    """The public line of ``manage.py grants verify --json`` (field names are an interface)."""
    grant = check.grant
    return {
        "grant": grant.pk,
        "tenant": grant.application.tenant.name,
        "client_id": grant.application.client_id,
        "model": grant.model,
        "scope": grant.scope,
        "outcome": check.outcome,
        **summary(check),
        "detail": check.detail,
    }
