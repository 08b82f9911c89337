"""Who a job may touch: the grant it runs under, and which mailboxes that grant covers.

Everything is decided before the job starts; a target outside the grant's scope refuses the
whole job with the reason (nothing is sent to Exchange). Refusals are English sentences that
are translated when shown.
"""

import csv
import io

from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.utils import timezone
from django.utils.translation import gettext_noop

from portal.grants.models import Application, Grant

MAX_TARGETS = 5000


class Refused(Exception):
    """The job cannot start; ``words`` says why and what to do (English, translated on show)."""

    def __init__(self, words: str, **values):
        super().__init__(words % values if values else words)
        self.words, self.values = words, values


def usable_grant(grant: Grant | None, tenant) -> Grant:
    if grant is None or grant.application.tenant_id != tenant.pk:
        raise Refused(gettext_noop("Choose a grant of this tenant's applications."))
    app = grant.application
    if grant.status != Grant.Status.ACTIVE or grant.expires_at <= timezone.now():
        raise Refused(gettext_noop(
            "Grant %(grant)s is not active (it is %(status)s). A job runs only under an active "
            "grant: approve or renew it first."), grant=grant.pk, status=grant.status)  # fmt: skip
    if app.protocols and Application.Protocol.EWS not in app.protocols:
        raise Refused(gettext_noop(
            "Application %(app)s is not recorded as using EWS. Add EWS to its protocols if it "
            "really does."), app=app.name)  # fmt: skip
    basic = app.auth == Application.Auth.BASIC and bool(app.service_account)
    if not (basic or app.auth == Application.Auth.APP_SECRET) or not app.credential_secret:
        raise Refused(gettext_noop(
            "The portal cannot act as application %(app)s: it acts only as an app-only "
            "application with a client secret, or as a service account with a password. Add "
            "the credential on the application's page."), app=app.name)  # fmt: skip
    return grant


def parse_targets(text: str) -> list[str]:
    """Addresses from a comma/line separated list or a CSV (a 'mailbox' column, else the first)."""
    text = (text or "").replace("\x00", "")
    rows = list(csv.reader(io.StringIO(text)))
    column = 0
    if rows and any(c.strip().lower() in ("mailbox", "email", "address", "smtp") for c in rows[0]):
        header = [c.strip().lower() for c in rows[0]]
        column = next(i for i, c in enumerate(header) if c in ("mailbox", "email", "address",
                                                                "smtp"))  # fmt: skip
        rows = rows[1:]
        cells = [r[column] for r in rows if len(r) > column]
    else:
        cells = [c for r in rows for c in r]
    # A dict keeps the order and finds a repeat at once: a list made a 1 MB file of addresses
    # a minute of comparisons (the request timed out instead of being answered).
    seen: dict[str, None] = {}
    bad = []
    for number, cell in enumerate(cells, 1):
        address = cell.strip().lower()
        if not address:
            continue
        try:
            validate_email(address)
        except ValidationError:
            bad.append(f"{number}: “{_shown(address)}”")
            continue
        seen.setdefault(address)
        if len(seen) > MAX_TARGETS and not bad:
            break  # refused below whatever the rest holds: no need to read it
    if bad:
        raise Refused(gettext_noop("These targets are not mailbox addresses: %(bad)s. Nothing "
                                   "was started."), bad="; ".join(bad[:5]))  # fmt: skip
    if len(seen) > MAX_TARGETS:
        raise Refused(gettext_noop("A job takes at most %(max)s mailboxes; split the list."),
                      max=MAX_TARGETS)  # fmt: skip
    return list(seen)


def _shown(text: str) -> str:
    """A refused target as typed, cut short, with invisible characters made visible as “?”."""
    return "".join(c if c.isprintable() else "?" for c in text[:80])


def in_scope(grant: Grant, targets: list[str]) -> None:
    """Refuse if any target is outside what the grant covers (or what the portal can know)."""
    tenant = grant.application.tenant
    if grant.scope == Grant.Scope.ALL:
        domains = {d.lower() for d in tenant.accepted_domains}
        outside = [t for t in targets if domains and t.rsplit("@", 1)[1] not in domains]
        why = gettext_noop("not in the tenant's accepted domains")
    else:
        # An explicit list is the scope; for a group or a recipient filter the portal knows
        # only the mailboxes recorded on the grant, and never guesses about the others.
        listed = {m.lower() for m in grant.mailboxes}
        outside = [t for t in targets if t not in listed]
        why = gettext_noop("not in the grant's list of mailboxes")
        if grant.scope != Grant.Scope.LIST:
            why = gettext_noop("not among the mailboxes recorded on the grant (the portal "
                               "cannot evaluate a group or a recipient filter itself)")  # fmt: skip
    if outside:
        raise Refused(gettext_noop(
            "%(n)s target(s) are outside grant %(grant)s's scope (%(why)s): %(examples)s. "
            "Nothing was started. What to do: remove them, or widen the grant through its "
            "approval."), n=len(outside), grant=grant.pk, why=why,
            examples=", ".join(outside[:5]))  # fmt: skip


def all_in_scope(grant: Grant) -> list[str]:
    if grant.scope == Grant.Scope.ALL:
        raise Refused(gettext_noop(
            "Grant %(grant)s covers every mailbox, and EWS offers no way to list a whole "
            "organisation. Give the targets as a list or a CSV file."), grant=grant.pk)  # fmt: skip
    targets = [m.lower() for m in grant.mailboxes]
    if not targets:
        raise Refused(gettext_noop(
            "Grant %(grant)s records no mailboxes. Give the targets as a list or a CSV "
            "file, or record the mailboxes on the grant."), grant=grant.pk)  # fmt: skip
    return targets
