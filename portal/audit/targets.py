"""What an audit event's target is, in words: one table for the list, the detail and the filter.

Events store the target's type as a stable code (a model's ``app.model`` label or a fixed name);
people read the name below.  A code missing here is shown as stored.
"""

from django.utils.translation import gettext_lazy as _

TARGET_NAMES = {
    "runs.proberun": _("Connectivity run"),
    "runs.schedule": _("Test schedule"),
    "runs.batch": _("Group of runs"),
    "tenants.tenant": _("Tenant"),
    "jobs.job": _("Job"),
    "auth.user": _("User"),
    "accounts.onetimelogin": _("One-time sign-in link"),
    "mfa.authenticator": _("Second factor"),
    "usersessions.usersession": _("Session"),
    "socialaccount.socialaccount": _("Single sign-on account"),
    "sso.provider": _("Single sign-on provider"),
    "audit.log": _("Audit log"),
    "audit.chain": _("Audit chain"),
    "portal.keys": _("Encryption keys"),
    "url": _("Page"),
}


def target_name(code: str) -> str:
    return str(TARGET_NAMES.get(code, code))


def target_choices() -> list[tuple[str, str]]:
    names = sorted(((code, str(name)) for code, name in TARGET_NAMES.items()), key=lambda c: c[1])
    return [("", _("Any")), *names]
