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


# allauth: second factors, reauthentication and passwords.
from allauth.account import signals as account_signals  # noqa: E402
from allauth.mfa import signals as mfa_signals  # noqa: E402


def _authenticator(authenticator) -> dict:
    return {"type": authenticator.type, "id": authenticator.pk}


@receiver(mfa_signals.authenticator_added)
def _mfa_added(sender, request, user, authenticator, **kwargs):
    record("mfa.enrol", target=user, actor=user, after=_authenticator(authenticator))


@receiver(mfa_signals.authenticator_removed)
def _mfa_removed(sender, request, user, authenticator, **kwargs):
    from portal.accounts.middleware import SESSION_FLAG

    if request is not None and hasattr(request, "session"):
        request.session.pop(SESSION_FLAG, None)
    record("mfa.remove", target=user, actor=user, before=_authenticator(authenticator))


@receiver(mfa_signals.authenticator_reset)
def _mfa_reset(sender, request, user, authenticator, **kwargs):
    record("mfa.reset", target=user, actor=user, after=_authenticator(authenticator))


@receiver(mfa_signals.authentication_failed)
def _mfa_failed(sender, request, user, authenticator=None, **kwargs):
    record(
        "auth.mfa_failed",
        target=user,
        after={
            "type": getattr(authenticator, "type", ""),
            **({"reauthentication": True} if kwargs.get("reauthentication") else {}),
        },
        result="denied",
    )


@receiver(account_signals.authentication_step_completed)
def _step_completed(sender, request, user, method, **kwargs):
    from portal.accounts.first_sign_in import AFTER_LINK_MARK

    # The first password's record is audited as auth.password_set (below), not here.
    if kwargs.get("reauthenticated") and not kwargs.get(AFTER_LINK_MARK):
        record("auth.reauthenticate", target=user, actor=user, after={"method": method})


@receiver(account_signals.password_set)
def _password_set(sender, request, user, **kwargs):
    from portal.accounts.first_sign_in import password_chosen

    fresh = password_chosen(request, user)
    after = {"first_sign_in": True} if fresh else None
    record("auth.password_set", target=user, actor=user, after=after)


@receiver(account_signals.password_changed)
def _password_changed(sender, request, user, **kwargs):
    record("auth.password_change", target=user, actor=user)


@receiver(account_signals.password_reset)
def _password_reset(sender, request, user, **kwargs):
    record("auth.password_reset", target=user, actor=user)
