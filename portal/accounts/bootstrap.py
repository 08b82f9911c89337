import datetime as dt

from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.password_validation import validate_password
from django.db import transaction
from django.urls import reverse

from portal.accounts.models import OneTimeLogin
from portal.accounts.roles import set_role
from portal.audit.api import record
from portal.lib.access import Role


def admins_exist() -> bool:
    from portal.accounts.roles import sync_role_groups

    group = sync_role_groups()[Role.ADMIN]
    return get_user_model().objects.filter(is_active=True, groups=group).exists()


def one_time_url(token: str) -> str:
    return settings.SITE_URL.rstrip("/") + reverse("accounts:one_time", args=[token])


@transaction.atomic
def ensure_admin(username: str, email: str = "", password: str | None = None, hours: int = 24):
    """Create or promote an Admin. Returns (user, created, one-time token or None).

    Raises django ValidationError for a bad username or a weak password.
    """
    user_model = get_user_model()
    user_model.username_validator(username)
    user, created = user_model.objects.get_or_create(username=username, defaults={"email": email})
    if password is not None:
        validate_password(password, user)
        user.set_password(password)
    elif created:
        user.set_unusable_password()
    user.is_active = True
    user.save()
    set_role(user, Role.ADMIN)
    record(
        "user.create_admin" if created else "user.promote_admin",
        target=user,
        after={"username": username, "email": email, "role": "admin"},
    )
    token = None if password else OneTimeLogin.issue(user, dt.timedelta(hours=hours))
    return user, created, token
