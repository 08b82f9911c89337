from django.conf import settings
from django.utils.translation import gettext_lazy as _

from portal.lib.access import Role, user_role

ROLE_LABELS = {
    Role.NONE: _("No access"),
    Role.VIEWER: _("Viewer"),
    Role.OPERATOR: _("Operator"),
    Role.ADMIN: _("Admin"),
}


def portal(request):
    role = user_role(getattr(request, "user", None))
    return {
        "site_name": settings.SITE_NAME,
        "portal_role": role,
        "portal_role_label": ROLE_LABELS[role],
        "can_operate": role >= Role.OPERATOR,
        "can_admin": role >= Role.ADMIN,
    }
