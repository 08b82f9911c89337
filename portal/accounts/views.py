from django.contrib import messages
from django.contrib.auth import login
from django.contrib.auth.decorators import login_not_required
from django.db import transaction
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods

from portal.accounts.models import OneTimeLogin
from portal.audit.api import record


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
        entry.used_at = timezone.now()
        entry.save(update_fields=["used_at"])
        record("auth.one_time_login", target=entry.user, actor=entry.user)
    login(request, entry.user, backend="django.contrib.auth.backends.ModelBackend")
    if not entry.user.has_usable_password():
        messages.info(request, _("Welcome. Choose a password to finish setting up your account."))
        return redirect("account_set_password")
    return redirect("core:dashboard")
