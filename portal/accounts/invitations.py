"""Local accounts exist only by an Admin's invitation: a single-use link, mailed when the portal
can send mail, otherwise handed to the Admin (once) to pass on."""

import datetime as dt
import smtplib
from dataclasses import dataclass

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.mail import send_mail
from django.db import transaction
from django.utils.translation import gettext as _

from portal.accounts.bootstrap import one_time_url
from portal.accounts.models import OneTimeLogin
from portal.accounts.roles import set_role
from portal.audit.api import record
from portal.lib import crypto
from portal.lib.access import Role

# Mail backends that never reach the person: the console prints to the server's log (where a
# sign-in link must not end up), the others keep the mail on this machine.
UNDELIVERED_BACKENDS = frozenset(
    {
        "django.core.mail.backends.console.EmailBackend",
        "django.core.mail.backends.dummy.EmailBackend",
        "django.core.mail.backends.filebased.EmailBackend",
    }
)
SMTP_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
# The link waiting to be shown to the Admin who invited, encrypted like every secret at rest.
LINK_SESSION_KEY = "portal.invite_link"


@dataclass
class Invitation:
    user: object
    url: str
    mailed: bool
    # Why the link was not mailed, in words for the Admin; empty when it was.
    problem: str = ""


def mail_reaches_people() -> bool:
    backend = settings.MAILERS.get("default", {}).get("BACKEND", SMTP_BACKEND)
    return backend not in UNDELIVERED_BACKENDS


def invite(username: str, email: str, role: Role, *, invited_by) -> Invitation:
    """Create the account without a password and a single-use link; mail it if mail works."""
    by_mail = mail_reaches_people()
    days = settings.INVITATION_DAYS
    with transaction.atomic():
        user = get_user_model().objects.create(username=username, email=email, is_active=True)
        user.set_unusable_password()
        user.save(update_fields=["password"])
        set_role(user, role)
        url = one_time_url(OneTimeLogin.issue(user, dt.timedelta(days=days)))
        record(
            "user.invite",
            target=user,
            after={
                "username": username,
                "email": email,
                "role": role.name.lower(),
                "days": days,
                "delivery": "email" if by_mail else "link",
            },
        )
    if not by_mail:
        problem = _(
            "No invitation mail was sent: this portal has no mail server set up (EMAIL_URL), "
            "so mail only goes to the server's console."
        )
        return Invitation(user, url, mailed=False, problem=problem)
    return _mail(user, url, role, days, invited_by)


def _mail(user, url: str, role: Role, days: int, invited_by) -> Invitation:
    body = _(
        "%(inviter)s invited you to %(site)s as %(role)s.\n\n"
        "Open this link within %(days)s days to choose your password (it works once):\n%(url)s\n"
    ) % {
        "inviter": invited_by.get_username(),
        "site": settings.SITE_NAME,
        "role": role.group_name,
        "days": days,
        "url": url,
    }
    subject = _("Your invitation to %(site)s") % {"site": settings.SITE_NAME}
    try:
        send_mail(subject, body, None, [user.email])
    except smtplib.SMTPException as exc:
        code = getattr(exc, "smtp_code", None)
        problem = _("The mail server refused the invitation mail (reply %(code)s).") % {
            "code": code or "-"
        }
        reason = f"refused {code or ''}".strip()
    except OSError:
        problem = _("The invitation mail could not be sent: the mail server did not answer.")
        reason = "unreachable"
    else:
        record("user.invite_mail", target=user, after={"email": user.email})
        return Invitation(user, url, mailed=True)
    record(
        "user.invite_mail",
        target=user,
        after={"email": user.email, "reason": reason},
        result="failure",
    )
    return Invitation(user, url, mailed=False, problem=problem)


def keep_link_for_admin(request, invitation: Invitation) -> None:
    """Hold the link for the Users page, which shows it once (see take_link_for_admin)."""
    request.session[LINK_SESSION_KEY] = {
        "user_id": invitation.user.pk,
        "url": crypto.encrypt(invitation.url),
        "problem": invitation.problem,
    }


def take_link_for_admin(request) -> dict | None:
    """The link waiting for this Admin, removed from the session as it is read, and audited."""
    held = request.session.pop(LINK_SESSION_KEY, None)
    if not held:
        return None
    user = get_user_model().objects.filter(pk=held["user_id"]).first()
    if user is None:
        return None
    record("user.invite_link_shown", target=user, after={"username": user.username})
    return {"user": user, "url": crypto.decrypt(held["url"]), "problem": held["problem"]}
