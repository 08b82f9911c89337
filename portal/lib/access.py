"""Roles and access checks: the one place that decides who may do what.

Three roles, each a Django group holding the permissions of the roles below it:
Viewer reads, Operator also runs tests and jobs, Admin also changes configuration,
grants and credentials. Views declare the role they need for reading and for
changing; object lookups go through ``get_object_for_user``.
"""

from enum import IntEnum
from functools import wraps

from django.core.exceptions import PermissionDenied
from django.http import Http404
from django.shortcuts import get_object_or_404


class Role(IntEnum):
    NONE = 0
    VIEWER = 1
    OPERATOR = 2
    ADMIN = 3

    @property
    def group_name(self) -> str:
        return self.name.capitalize()


# Permission codename (on accounts.PortalAccess) that marks each role.
ROLE_PERMISSIONS = {
    Role.VIEWER: "view_portal",
    Role.OPERATOR: "operate_portal",
    Role.ADMIN: "administer_portal",
}
SAFE_METHODS = {"GET", "HEAD", "OPTIONS"}


def user_role(user) -> Role:
    if not user or not user.is_authenticated or not user.is_active:
        return Role.NONE
    cached = getattr(user, "_portal_role", None)
    if cached is not None:
        return cached
    role = Role.NONE
    if user.is_superuser:
        role = Role.ADMIN
    else:
        for candidate in (Role.ADMIN, Role.OPERATOR, Role.VIEWER):
            if user.has_perm(f"accounts.{ROLE_PERMISSIONS[candidate]}"):
                role = candidate
                break
    user._portal_role = role
    return role


def role_from_groups(user) -> Role:
    """The role from already-fetched groups (list pages prefetch them; no query per user).

    Matches ``user_role`` because each role group holds its own permission and those below it.
    """
    if not user.is_active:
        return Role.NONE
    if user.is_superuser:
        return Role.ADMIN
    by_name = {role.group_name: role for role in (Role.VIEWER, Role.OPERATOR, Role.ADMIN)}
    return max((by_name.get(g.name, Role.NONE) for g in user.groups.all()), default=Role.NONE)


def has_role(user, role: Role) -> bool:
    return user_role(user) >= role


def check_role(request, role: Role) -> None:
    if not has_role(request.user, role):
        from portal.audit.api import record

        record(
            "access.denied",
            target={"type": "url", "id": request.path[:80], "label": request.path},
            after={"method": request.method, "needed": role.name.lower()},
            result="denied",
        )
        raise PermissionDenied


def requires(read: Role = Role.VIEWER, change: Role = Role.ADMIN):
    """Decorate a view: ``read`` role for GET/HEAD/OPTIONS, ``change`` role for the rest."""

    def decorator(view):
        @wraps(view)
        def wrapper(request, *args, **kwargs):
            check_role(request, read if request.method in SAFE_METHODS else change)
            return view(request, *args, **kwargs)

        wrapper.portal_roles = (read, change)
        return wrapper

    return decorator


def get_object_for_user(queryset, user, role: Role = Role.VIEWER, **lookup):
    """Fetch one object the user may act on with ``role``: 404 if unknown, 403 if not allowed."""
    if not has_role(user, Role.VIEWER):
        raise Http404
    obj = get_object_or_404(queryset, **lookup)
    if not has_role(user, role):
        raise PermissionDenied
    return obj


def requires_reauthentication(view=None, *, for_get: bool = False):
    """Ask for the password or a second factor again before a sensitive action.

    Wraps allauth's ``reauthentication_required``: revealing or changing a secret, approving a
    grant, changing a role. Only the change (non-GET) is guarded unless ``for_get`` is true
    (use that for a view that *reveals* a secret). A POST made without a recent
    reauthentication (ACCOUNT_REAUTHENTICATION_TIMEOUT) is kept, the person confirms who they
    are, and the POST is then replayed. Put it under ``@requires(...)`` so a role that may not
    act is refused with 403 first::

        @requires(read=Role.ADMIN, change=Role.ADMIN)
        @requires_reauthentication
        def change_role(request, pk): ...
    """

    def decorator(func):
        from allauth.account.decorators import reauthentication_required

        wrapped = reauthentication_required(func, allow_get=not for_get)
        wrapped.portal_reauthentication = True
        return wrapped

    return decorator(view) if view is not None else decorator
