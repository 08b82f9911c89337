from django.contrib import messages
from django.shortcuts import redirect
from django.utils import translation
from django.views.decorators.http import require_http_methods

from portal.jobs.api import QueueUnavailable, start_job
from portal.lib.access import Role, get_object_for_user, has_role, requires
from portal.lib.htmx import render
from portal.relay.forms import TestSendForm
from portal.relay.models import RelayClient, RelayTest
from portal.relay.tasks import test_send_task


def start_test(client: RelayClient, recipient: str, user) -> RelayTest:
    """One test send as one job. Raises QueueUnavailable (the test is closed with the reason)."""
    test = RelayTest.objects.create(client=client, recipient=recipient, started_by=user)
    with translation.override("en"):  # stored in English, translated when shown
        label = f"Relay test send · {client.name}"
    try:
        job = start_job(test_send_task, kind="relay.test", label=label,
                        kwargs={"test_id": test.pk}, tenant=client.tenant)  # fmt: skip
    except QueueUnavailable as exc:
        RelayTest.objects.filter(pk=test.pk).update(job=exc.job)
        raise
    RelayTest.objects.filter(pk=test.pk).update(job=job)
    return test


@requires(read=Role.OPERATOR, change=Role.OPERATOR)
@require_http_methods(["POST"])
def test_send(request, pk):
    client = get_object_for_user(RelayClient.objects.select_related("tenant"), request.user,
                                 Role.OPERATOR, pk=pk)  # fmt: skip
    form = TestSendForm(request.POST, client=client)
    if not form.is_valid():
        for error in form.errors.get("recipient", []):
            messages.error(request, error)
        return redirect("relay:detail", pk=client.pk)
    try:
        test = start_test(client, form.cleaned_data["recipient"], request.user)
    except QueueUnavailable as exc:
        messages.error(request, str(exc))
        return redirect("relay:detail", pk=client.pk)
    return redirect("relay:test", pk=test.pk)


@requires()
@require_http_methods(["GET"])
def test_detail(request, pk):
    test = get_object_for_user(RelayTest.objects.select_related("client__tenant", "job"),
                               request.user, pk=pk)  # fmt: skip
    return render(request, "relay/test.html", {
        "test": test, "client": test.client, "can_change": has_role(request.user, Role.OPERATOR),
    }, partial="steps")  # fmt: skip
