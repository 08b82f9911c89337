"""A broken chain (or a broken guard) is told to the Admins: a banner on every page they open
and, once per new finding, an email."""

from functools import cached_property

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.mail import send_mail
from django.db.models import Q
from django.utils.translation import gettext as _

from portal.audit.api import record
from portal.audit.models import AuditEvent
from portal.lib.access import Role


def latest_verification():
    return (
        AuditEvent.objects.filter(action="audit.verify")
        .order_by("-seq")
        .only("seq", "created_at", "result", "after")
        .first()
    )


def _finding(outcome: dict) -> tuple:
    return (outcome.get("first_bad_seq"), outcome.get("reason"), outcome.get("guard_problems"))


def admin_recipients() -> list[str]:
    users = get_user_model().objects.filter(is_active=True).exclude(email="")
    users = users.filter(Q(is_superuser=True) | Q(groups__name=Role.ADMIN.group_name)).distinct()
    return sorted({u.email for u in users})


def notify_admins(outcome: dict, previous) -> bool:
    """Email the Admins about a failed verification unless the previous one found the same."""
    repeated = previous is not None and previous.result != "success"
    if repeated and _finding(previous.after or {}) == _finding(outcome):
        return False
    recipients = admin_recipients()
    lines = [_("The scheduled verification of the audit log failed.")]
    if outcome.get("first_bad"):
        lines.append(_("First broken: %(where)s — %(reason)s")
                     % {"where": outcome["first_bad"], "reason": outcome["reason"]})  # fmt: skip
    for problem in outcome.get("guard_problems") or []:
        lines.append(_("Append-only guard: %(problem)s") % {"problem": problem})
    lines.append(
        _(
            "Someone may have changed the audit log in the database. Keep a copy of the "
            "database and of the checkpoint files, run `manage.py audit_verify` for details, "
            "and run `manage.py migrate` to restore missing triggers."
        )
    )
    result, error = "success", ""
    try:
        if recipients:
            send_mail(
                _("[%(site)s] Audit log verification failed") % {"site": settings.SITE_NAME},
                "\n\n".join(lines),
                None,
                recipients,
            )
        else:
            result, error = "failure", "no active Admin has an email address"
    except (OSError, ValueError) as exc:
        result, error = "failure", f"sending failed: {exc}"
    record(
        "audit.alert",
        target={"type": "audit.chain", "id": "", "label": "audit chain"},
        after={"recipients": len(recipients), "first_bad_seq": outcome.get("first_bad_seq"),
               "error": error},
        result=result,
    )  # fmt: skip
    return result == "success"


class ChainAlert:
    """For the banner: the latest verification, read at most once per page and only when
    the template asks (it asks only for Admins). A page that has read it already passes it in."""

    _UNREAD = object()

    def __init__(self, latest=_UNREAD):
        if latest is not self._UNREAD:
            self.__dict__["_latest"] = latest

    @cached_property
    def _latest(self):
        return latest_verification()

    @property
    def broken(self) -> bool:
        return self._latest is not None and self._latest.result != "success"

    @property
    def outcome(self) -> dict:
        return (self._latest.after or {}) if self._latest is not None else {}

    @property
    def when(self):
        return self._latest.created_at if self._latest is not None else None
