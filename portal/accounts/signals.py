from django.contrib.auth.signals import user_logged_in, user_logged_out, user_login_failed
from django.db.models.signals import post_migrate
from django.dispatch import receiver

from portal.audit.api import record


@receiver(post_migrate)
def ensure_role_groups(sender, app_config=None, **kwargs):
    """Create the three role groups, each holding its permission and those below it."""
    if app_config is None or app_config.label != "accounts":
        return
    from portal.accounts.roles import sync_role_groups

    sync_role_groups()


@receiver(user_logged_in)
def _login(sender, request, user, **kwargs):
    record("auth.login", target=user, actor=user)


@receiver(user_logged_out)
def _logout(sender, request, user, **kwargs):
    if user is not None:
        record("auth.logout", target=user, actor=user)


@receiver(user_login_failed)
def _login_failed(sender, credentials, request=None, **kwargs):
    username = str(credentials.get("username") or credentials.get("email") or "")[:150]
    record(
        "auth.login_failed",
        target={"type": "auth.user", "id": "", "label": username},
        result="denied",
    )
