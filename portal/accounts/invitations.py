"""Local accounts exist only by an Admin's invitation: a one-time link by email."""

import datetime as dt

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.mail import send_mail
from django.db import transaction
from django.utils.translation import gettext as _

from portal.accounts.bootstrap import one_time_url
from portal.accounts.models import OneTimeLogin
from portal.accounts.roles import set_role
from portal.audit.api import record
from portal.lib.access import Role


@transaction.atomic
def invite(username: str, email: str, role: Role, *, invited_by) -> tuple:
    """Create the account without a password and mail a single-use link. Returns (user, url)."""
    user = get_user_model().objects.create(username=username, email=email, is_active=True)
    user.set_unusable_password()
    user.save(update_fields=["password"])
    set_role(user, role)
    days = settings.INVITATION_DAYS
    url = one_time_url(OneTimeLogin.issue(user, dt.timedelta(days=days)))
    record(
        "user.invite",
        target=user,
        after={"username": username, "email": email, "role": role.name.lower(), "days": days},
    )
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
    transaction.on_commit(
        lambda: send_mail(
            _("Your invitation to %(site)s") % {"site": settings.SITE_NAME},
            body,
            None,
            [email],
        )
    )
    return user, url
