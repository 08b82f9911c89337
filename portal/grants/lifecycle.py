"""Every change of a grant's status, in one place: who may make it, and its one audit event.

requested → approved → active → expired / revoked; requested → rejected. Four eyes: whoever
requested a grant never approves or rejects it. Checks are repeated on the locked row, so two
people deciding at once cannot both win.
"""

from django.conf import settings
from django.core.mail import send_mail
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from portal.audit.api import record, snapshot
from portal.grants.models import Grant

S = Grant.Status


class TransitionRefused(Exception):
    """The change is not allowed now; the message says why in words."""


# status → the statuses it may move to
ALLOWED = {
    S.REQUESTED: {S.APPROVED, S.REJECTED, S.REVOKED},
    S.APPROVED: {S.ACTIVE, S.REVOKED, S.EXPIRED},
    S.ACTIVE: {S.REVOKED, S.EXPIRED},
}
ACTIONS = {S.APPROVED: "grant.approve", S.REJECTED: "grant.reject", S.ACTIVE: "grant.activate",
           S.REVOKED: "grant.revoke", S.EXPIRED: "grant.expire"}  # fmt: skip
STATUS_FIELDS = ["status", "decided_by", "decided_at", "decision_note", "ended_at", "expires_at"]


def max_lifetime() -> timezone.timedelta:
    return timezone.timedelta(days=settings.GRANT_MAX_LIFETIME_DAYS)


def request_grant(grant: Grant, user) -> Grant:
    with transaction.atomic():
        grant.requested_by = user
        grant.requested_at = timezone.now()
        grant.status = S.REQUESTED
        grant.save()
        record("grant.request", target=grant, tenant=grant.tenant, after=snapshot(grant))
    return grant


def _reason(grant: Grant, new: str, user):
    """Why ``grant`` may not move to ``new`` now, or None."""
    if new not in ALLOWED.get(grant.status, set()):
        return _("This grant is %(status)s; it cannot be %(new)s now.") % {
            "status": grant.get_status_display(),
            "new": S(new).label,
        }
    if new in (S.APPROVED, S.REJECTED) and user is not None and grant.requested_by_id == user.pk:
        return _("Another Admin must decide: you requested this grant.")
    if new in (S.APPROVED, S.ACTIVE) and grant.expires_at <= timezone.now():
        return _("The grant's expiry date has passed; request it again.")
    return None


def transition(grant_id: int, new: str, user=None, note: str = "") -> Grant:
    """Move a grant to ``new``; one audit event whatever happens (refusals are ``denied``)."""
    action = ACTIONS[new]
    with transaction.atomic():
        grant = (
            Grant.objects.select_for_update().select_related("application__tenant").get(pk=grant_id)
        )
        reason = _reason(grant, new, user)
        if reason is None:
            before = snapshot(grant, STATUS_FIELDS)
            now = timezone.now()
            deciding = new in (S.APPROVED, S.REJECTED)
            grant.status = new
            if deciding:
                grant.decided_by, grant.decided_at, grant.decision_note = user, now, note[:500]
            if new in (S.REVOKED, S.EXPIRED, S.REJECTED):
                grant.ended_at = now
                if note and not deciding:
                    grant.decision_note = note[:500]
            grant.save()
            record(action, target=grant, tenant=grant.tenant, before=before,
                   after=snapshot(grant, STATUS_FIELDS), actor=user)  # fmt: skip
            return grant
    # Recorded after the lock is released: a refusal changes nothing but is still an event.
    record(action, target=grant, tenant=grant.tenant, result="denied", actor=user,
           after={"status": grant.status, "wanted": new, "reason": str(reason)})  # fmt: skip
    raise TransitionRefused(reason)


def expire_due(now=None) -> list[int]:
    """Expire every approved or active grant whose expiry has passed (the beat task calls this)."""
    now = now or timezone.now()
    due = Grant.objects.filter(status__in=Grant.LIVE, expires_at__lte=now).values_list(
        "pk", flat=True
    )
    expired = []
    for pk in list(due):
        try:
            transition(pk, S.EXPIRED)
            expired.append(pk)
        except TransitionRefused:
            continue  # someone revoked it meanwhile
    return expired


def remind_expiring(now=None) -> list[int]:
    """E-mail the requester and the approver once, GRANT_REMINDER_DAYS before a grant expires."""
    now = now or timezone.now()
    horizon = now + timezone.timedelta(days=settings.GRANT_REMINDER_DAYS)
    sent = []
    candidates = (
        Grant.objects.filter(status__in=Grant.LIVE, reminder_sent_at__isnull=True,
                             expires_at__gt=now, expires_at__lte=horizon)
        .select_related("application__tenant", "requested_by", "decided_by")
    )  # fmt: skip
    for grant in candidates:
        recipients = sorted({u.email for u in (grant.requested_by, grant.decided_by)
                             if u is not None and u.email})  # fmt: skip
        claimed = Grant.objects.filter(pk=grant.pk, reminder_sent_at__isnull=True).update(
            reminder_sent_at=now
        )
        if not claimed:
            continue
        result, error = "success", ""
        if recipients:
            try:
                send_mail(*_reminder(grant), None, recipients, fail_silently=False)
            except OSError as exc:
                result, error = "error", type(exc).__name__
                Grant.objects.filter(pk=grant.pk).update(reminder_sent_at=None)  # try again later
        else:
            result = "failure"
        record("grant.remind", target=grant, tenant=grant.tenant, result=result,
               after={"recipients": recipients, "expires_at": grant.expires_at.isoformat(),
                      **({"error": error} if error else {})})  # fmt: skip
        sent.append(grant.pk)
    return sent


def _reminder(grant: Grant) -> tuple[str, str]:
    # Plain English, like the other notifications the portal sends.
    url = f"{settings.SITE_URL.rstrip('/')}/grants/{grant.pk}/"
    subject = f"[{grant.tenant}] Grant for {grant.application} expires {grant.expires_at:%Y-%m-%d}"
    body = "\n".join([
        subject, "",
        f"Application: {grant.application} ({grant.application.principal})",
        f"Permission: {grant.get_model_display()} {grant.role}".rstrip(),
        f"Scope: {grant.scope_label()}",
        f"Ticket: {grant.ticket or '-'}", "",
        "When it expires the portal marks it expired; remove it in Exchange with the grant's "
        "removal script, or request a new grant if the access is still needed.", "",
        url,
    ])  # fmt: skip
    return subject, body
