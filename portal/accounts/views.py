from allauth.mfa.models import Authenticator
from allauth.socialaccount.models import SocialAccount
from allauth.usersessions.models import UserSession
from django.contrib import messages
from django.contrib.auth import get_user_model, login, logout
from django.contrib.auth.decorators import login_not_required
from django.db import transaction
from django.db.models import Exists, OuterRef, Prefetch
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from portal.accounts import first_sign_in, invitations
from portal.accounts.forms import ROLE_BY_NAME, InviteForm, RoleForm
from portal.accounts.mfa import SECOND_FACTORS, factors_by_name, is_enrolled
from portal.accounts.models import OneTimeLogin
from portal.accounts.roles import set_role
from portal.audit.api import record
from portal.lib.access import (
    Role,
    get_object_for_user,
    requires,
    requires_reauthentication,
    role_from_groups,
    user_role,
)
from portal.lib.htmx import render as htmx_render


@login_not_required
@require_http_methods(["GET", "POST"])
def one_time_login(request, token):
    """Sign in with a single-use link. GET only shows a button, so link scanners cannot use it."""
    token_hash = OneTimeLogin.hash_token(token)
    link = OneTimeLogin.objects.usable().select_related("user").filter(token_hash=token_hash)
    if request.method == "GET":
        return render(request, "accounts/one_time.html", {"valid": link.exists()}, status=200)
    with transaction.atomic():
        entry = link.select_for_update().first()
        if entry is None or not entry.user.is_active:
            record(
                "auth.one_time_login",
                target={"type": "auth.user", "id": "", "label": ""},
                result="denied",
            )
            return render(request, "accounts/one_time.html", {"valid": False}, status=400)
        if is_enrolled(entry.user):
            # A link must never stand in for a second factor the person already has.
            record("auth.one_time_login", target=entry.user, result="denied",
                   after={"reason": "account has a second factor"})  # fmt: skip
            return render(request, "accounts/one_time.html", {"valid": False, "has_mfa": True},
                          status=403)  # fmt: skip
        entry.used_at = timezone.now()
        entry.save(update_fields=["used_at"])
        record("auth.one_time_login", target=entry.user, actor=entry.user)
    login(request, entry.user, backend="django.contrib.auth.backends.ModelBackend")
    if not entry.user.has_usable_password():
        first_sign_in.signed_in_by_link(request)
        messages.info(request, _("Welcome. Choose a password to finish setting up your account."))
        return redirect("account_set_password")
    return redirect("core:dashboard")


@login_not_required
@require_GET
def no_access(request):
    """Where a signed-in person without any portal role lands."""
    return render(request, "accounts/no_access.html", {"reason": ""}, status=403)


@require_POST
def logout_everywhere(request):
    """Sign out of every browser and device, this one included."""
    user = request.user
    ended = 0
    for session in UserSession.objects.filter(user=user):
        if session.session_key != request.session.session_key:
            session.end()
            ended += 1
    record("auth.logout_everywhere", target=user, actor=user, after={"other_sessions": ended})
    logout(request)
    return redirect("account_login")


def _users_queryset():
    factors = Authenticator.objects.filter(user=OuterRef("pk"), type__in=SECOND_FACTORS)
    sso = SocialAccount.objects.filter(user=OuterRef("pk"))
    return (
        get_user_model()
        .objects.annotate(has_mfa=Exists(factors), has_sso=Exists(sso))
        .prefetch_related(Prefetch("groups"), "user_permissions")
        .order_by("username")
    )


@requires(read=Role.ADMIN, change=Role.ADMIN)
@require_GET
def user_list(request):
    users = list(_users_queryset())
    for user in users:
        user.portal_role = role_from_groups(user)
    context = {"users": users, "invite_form": InviteForm(), "role_form": RoleForm()}
    context["invite_link"] = invitations.take_link_for_admin(request)
    response = htmx_render(request, "accounts/users.html", context)
    if context["invite_link"]:
        response["Cache-Control"] = "no-store"  # the link is shown once, never from a cache
    return response


@requires(read=Role.ADMIN, change=Role.ADMIN)
@require_http_methods(["GET", "POST"])
def user_invite(request):
    form = InviteForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        invitation = invitations.invite(
            form.cleaned_data["username"],
            form.cleaned_data["email"],
            ROLE_BY_NAME[form.cleaned_data["role"]],
            invited_by=request.user,
        )
        if invitation.mailed:
            messages.success(
                request, _("Invitation sent to %(email)s.") % {"email": invitation.user.email}
            )
        else:
            invitations.keep_link_for_admin(request, invitation)
        return redirect("accounts:users")
    status = 400 if request.method == "POST" else 200
    context = {"form": form, "mail_works": invitations.mail_reaches_people()}
    return htmx_render(request, "accounts/invite.html", context, status=status)


def _other_user(request, pk):
    user = get_object_for_user(get_user_model().objects.all(), request.user, Role.ADMIN, pk=pk)
    if user.pk == request.user.pk:
        messages.error(request, _("You cannot change your own account here."))
        return None
    return user


@requires(read=Role.ADMIN, change=Role.ADMIN)
@requires_reauthentication
@require_POST
def user_role_change(request, pk):
    user = _other_user(request, pk)
    form = RoleForm(request.POST)
    if user is None or not form.is_valid():
        return redirect("accounts:users")
    before, after = user_role(user), ROLE_BY_NAME[form.cleaned_data["role"]]
    if before is not after:
        set_role(user, after)
        record(
            "user.role_change",
            target=user,
            before={"role": before.name.lower()},
            after={"role": after.name.lower()},
        )
        messages.success(request, _("Role of %(user)s changed.") % {"user": user.username})
    return redirect("accounts:users")


@requires(read=Role.ADMIN, change=Role.ADMIN)
@requires_reauthentication
@require_POST
def user_deactivate(request, pk):
    user = _other_user(request, pk)
    if user is None:
        return redirect("accounts:users")
    wanted = request.POST.get("active")
    if wanted not in ("true", "false"):
        # Only an explicit choice changes an account: anything else must not deactivate it.
        reason = _(
            "The account was not changed: the request said neither deactivate nor "
            "reactivate. Go back to Users and use the button in the account's row."
        )
        context = {
            "reason": reason,
            "back_url": reverse("accounts:users"),
            "back_label": _("Users"),
        }
        return render(request, "400.html", context, status=400)
    activate = wanted == "true"
    if user.is_active != activate:
        user.is_active = activate
        user.save(update_fields=["is_active"])
        ended = 0
        if not activate:
            for session in UserSession.objects.filter(user=user):
                session.end()
                ended += 1
        record(
            "user.activate" if activate else "user.deactivate",
            target=user,
            before={"is_active": not activate},
            after={"is_active": activate, "sessions_ended": ended},
        )
        messages.success(
            request,
            (_("%(user)s can sign in again.") if activate else _("%(user)s is deactivated."))
            % {"user": user.username},
        )
    return redirect("accounts:users")


@require_GET
def security(request):
    """The signed-in person's own account: second factors, sessions, password."""
    return render(
        request,
        "accounts/security.html",
        {
            "factors": factors_by_name(request.user),
            "sessions": UserSession.objects.filter(user=request.user).count(),
            "is_sso": SocialAccount.objects.filter(user=request.user).exists(),
        },
    )
