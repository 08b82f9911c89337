"""A local account's first sign-in: one-time link, then a password, then (Admins) a second factor.

The person proves who they are once, with the link, and should not be asked to prove it again
seconds later: choosing the password counts as a fresh authentication for allauth's
reauthentication window, so enrolling the second factor follows without another prompt.
"""

from django.urls import reverse

from portal.accounts.middleware import must_enrol

# Set when a one-time link signed this session in; spent by the password it leads to.
LINK_SESSION_KEY = "portal.signed_in_by_link"
# Marks the authentication record (and its signal) that the password set wrote, so the
# password set is audited once, as itself, and not a second time as a reauthentication.
AFTER_LINK_MARK = "after_one_time_link"


def signed_in_by_link(request) -> None:
    request.session[LINK_SESSION_KEY] = True


def password_chosen(request, user) -> bool:
    """Count the password just chosen after a one-time link as a fresh authentication.

    Returns whether it did. Only the session that the link signed in qualifies, once.
    """
    # allauth keeps the authentication records in the session; reauthentication checks the
    # time of the newest one marked "reauthenticated" (ACCOUNT_REAUTHENTICATION_TIMEOUT).
    from allauth.account.internal.flows.login import record_authentication

    if request is None or not request.session.pop(LINK_SESSION_KEY, False):
        return False
    record_authentication(
        request, user, method="password", reauthenticated=True, **{AFTER_LINK_MARK: True}
    )
    return True


def after_password_url(request) -> str:
    """Where a password set or change leads: enrolment while it is due, never a password form."""
    if must_enrol(request):
        return reverse("mfa_activate_totp")
    match = getattr(request, "resolver_match", None)
    if match is not None and match.url_name == "account_set_password":
        return reverse("core:dashboard")
    return reverse("accounts:security")
