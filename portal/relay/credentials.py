"""Relay credentials: set or rotate (shown once), reveal (reauthenticated, reasoned, rate-limited).

Only Admins see or change credentials. A new value is kept, encrypted, in the Admin's session
until the next page shows it once; the row itself never goes back to a page except through a
reveal, which is an audit event of its own.
"""

from django.contrib import messages
from django.core.cache import cache
from django.db import transaction
from django.shortcuts import redirect
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods

from portal.audit.api import record
from portal.lib.access import Role, get_object_for_user, requires, requires_reauthentication
from portal.lib.crypto import decrypt, encrypt
from portal.lib.htmx import render
from portal.relay.forms import CredentialForm, RevealForm
from portal.relay.models import RelayClient, Rotation

REVEAL_LIMIT = 3  # reveals per Admin per window
REVEAL_WINDOW = 3600  # seconds


def _session_key(client) -> str:
    return f"relay-shown-once-{client.pk}"


def stash_shown_once(request, client, value: str) -> None:
    request.session[_session_key(client)] = encrypt(value)


def pop_shown_once(request, client) -> str | None:
    stored = request.session.pop(_session_key(client), None)
    return decrypt(stored) if stored else None


@requires(read=Role.ADMIN, change=Role.ADMIN)
@requires_reauthentication
@require_http_methods(["GET", "POST"])
def credential_set(request, pk):
    client = get_object_for_user(RelayClient.objects.select_related("tenant"), request.user,
                                 Role.ADMIN, pk=pk)  # fmt: skip
    form = CredentialForm(request.POST or None, client=client)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        with transaction.atomic():
            locked = RelayClient.objects.select_for_update().get(pk=client.pk)
            action = Rotation.Action.ROTATED if locked.has_credential else Rotation.Action.SET
            locked.username = data["username"]
            if client.method == "smtp_oauth":
                locked.oauth_client_id = data["oauth_client_id"]
                locked.oauth_client_secret, locked.password = data["oauth_client_secret"], ""
                shown = data["oauth_client_secret"]
            else:
                locked.password, locked.oauth_client_secret = data["password"], ""
                shown = data["password"]
            locked.rotated_at, locked.reminder_sent_for = timezone.now(), None
            locked.save()
            Rotation.objects.create(client=locked, action=action, by=request.user,
                                    by_username=request.user.get_username())  # fmt: skip
            record(f"relay.credential.{action}", target=locked, tenant=locked.tenant,
                   after={"username": locked.username, "secret": "********"})  # fmt: skip
        stash_shown_once(request, locked, shown)
        messages.success(request, _("Credential saved. Copy it now: it is shown only once."))
        return redirect("relay:detail", pk=client.pk)
    response = render(request, "relay/credential.html", {"client": client, "form": form})
    response["Cache-Control"] = "no-store"  # the form offers a generated password
    return response


def _within_limit(user) -> bool:
    key = f"relay-reveal-{user.pk}"
    cache.add(key, 0, REVEAL_WINDOW)
    try:
        count = cache.incr(key)
    except ValueError:  # expired between add and incr
        cache.set(key, 1, REVEAL_WINDOW)
        count = 1
    return count <= REVEAL_LIMIT


@requires(read=Role.ADMIN, change=Role.ADMIN)
@requires_reauthentication
@require_http_methods(["GET", "POST"])
def credential_reveal(request, pk):
    client = get_object_for_user(RelayClient.objects.select_related("tenant"), request.user,
                                 Role.ADMIN, pk=pk)  # fmt: skip
    form = RevealForm(request.POST or None)
    context = {"client": client, "form": form, "revealed": None}
    status = 200
    if request.method == "POST" and not client.has_credential:
        messages.error(request, _("This client has no stored credential to reveal."))
        return redirect("relay:detail", pk=client.pk)
    if request.method == "POST" and form.is_valid():
        reason = form.cleaned_data["reason"]
        if not _within_limit(request.user):
            limit = f"{REVEAL_LIMIT}/h"
            record("relay.credential.reveal", target=client, tenant=client.tenant,
                   after={"reason": reason, "limit": limit}, result="denied")  # fmt: skip
            form.add_error(None, _(
                "You have revealed credentials %(n)s times in the last hour, the most allowed. "
                "Try again later, or rotate the credential instead."
            ) % {"n": REVEAL_LIMIT})  # fmt: skip
            status = 429
        else:
            record("relay.credential.reveal", target=client, tenant=client.tenant,
                   after={"reason": reason})  # fmt: skip
            context["revealed"] = client.password or client.oauth_client_secret
    response = render(request, "relay/reveal.html", context, status=status)
    response["Cache-Control"] = "no-store"
    return response
