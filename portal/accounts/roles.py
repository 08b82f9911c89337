from django.contrib.auth.models import Group, Permission
from django.db import transaction

from portal.lib.access import ROLE_PERMISSIONS, Role


@transaction.atomic
def sync_role_groups() -> dict[Role, Group]:
    groups = {}
    perms = {
        p.codename: p
        for p in Permission.objects.filter(
            content_type__app_label="accounts", codename__in=ROLE_PERMISSIONS.values()
        )
    }
    for role in (Role.VIEWER, Role.OPERATOR, Role.ADMIN):
        group, _ = Group.objects.get_or_create(name=role.group_name)
        wanted = [perms[ROLE_PERMISSIONS[r]] for r in ROLE_PERMISSIONS if r <= role]
        group.permissions.set(wanted)
        groups[role] = group
    return groups


def set_role(user, role: Role) -> None:
    """Make ``role`` the user's only portal role."""
    groups = sync_role_groups()
    user.groups.remove(*groups.values())
    if role is not Role.NONE:
        user.groups.add(groups[role])
    if hasattr(user, "_portal_role"):
        del user._portal_role
    # Django caches permissions on the instance too.
    for attr in ("_perm_cache", "_user_perm_cache", "_group_perm_cache"):
        if hasattr(user, attr):
            delattr(user, attr)
