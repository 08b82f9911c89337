from django.shortcuts import redirect
from django.urls import Resolver404, resolve

from portal.accounts.mfa import is_enrolled, is_local_account
from portal.lib.access import Role, user_role

# What a local Admin without a second factor may still reach: enrolment itself, the steps that
# lead to it (password set, reauthentication), signing out and the language switch.
MFA_SETUP_ALLOWED = frozenset(
    {
        "mfa_index",
        "mfa_activate_totp",
        "mfa_add_webauthn",
        "mfa_list_webauthn",
        "mfa_view_recovery_codes",
        "mfa_generate_recovery_codes",
        "mfa_download_recovery_codes",
        "mfa_reauthenticate",
        "account_reauthenticate",
        "account_set_password",
        "account_logout",
        "set_language",
        "healthz",
        "one_time",
        "no_access",
    }
)
SESSION_FLAG = "portal.mfa_enrolled"


def must_enrol(request) -> bool:
    """A local account with the Admin role and no second factor yet."""
    user = getattr(request, "user", None)
    if user is None or user_role(user) < Role.ADMIN:
        return False
    if request.session.get(SESSION_FLAG) == user.pk:
        return False
    if is_enrolled(user) or not is_local_account(user):
        request.session[SESSION_FLAG] = user.pk
        return False
    return True


class MFARequiredMiddleware:
    """Local accounts with the Admin role must enrol a second factor before using the portal."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        # Templates on the way to enrolment (password set, authenticator app) explain why.
        request.mfa_enrolment_required = must_enrol(request)
        if request.mfa_enrolment_required:
            try:
                name = resolve(request.path_info).url_name
            except Resolver404:
                name = None
            if name not in MFA_SETUP_ALLOWED:
                return redirect("mfa_activate_totp")
        return self.get_response(request)
