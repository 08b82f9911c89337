from celery import shared_task
from django.conf import settings
from django.core.mail import send_mail
from django.db import transaction
from django.utils import timezone, translation

from portal.audit.api import record
from portal.jobs.execution import JobTask
from portal.relay import testsend
from portal.relay.models import RelayClient, RelayTest


@shared_task(name="relay.test_send", base=JobTask)
def test_send_task(test_id: int) -> dict:
    test = testsend.execute(RelayTest.objects.get(pk=test_id))
    client = test.client
    ok = test.status == RelayTest.Status.PASS
    record(
        "relay.test_send", target=client, tenant=client.tenant,
        after={"recipient": test.recipient, "status": test.status,
               "message_id": test.message_id, "reference": test.reference},
        result="success" if ok else "failure",
    )  # fmt: skip
    with translation.override("en"):  # stored in English, translated when shown
        message = f"{client.name}: {test.get_status_display()}"
    return {"test": test.pk, "outcome": "ok" if ok else "problems", "message": message}


REMINDER_SUBJECT = "[Exchange Interop Portal] Rotate the mail credential of {name}"
REMINDER_BODY = """Hello {owner},

The mail credential of the relay client "{name}" (tenant {tenant}) {state} on {due:%Y-%m-%d}.

Set a new password on the mailbox, then ask a portal Admin to record it:
{url}

This reminder is sent once for each rotation deadline.
"""


@shared_task(name="relay.rotation_reminders")
def send_rotation_reminders() -> dict:
    """E-mail each owner whose credential is due or overdue, once per deadline (beat, daily)."""
    sent = 0
    candidates = RelayClient.objects.select_related("tenant").exclude(rotation_days=0)
    for client in candidates:
        due = client.rotation_due_at
        if client.rotation_state not in {"due", "overdue"}:
            continue
        if client.reminder_sent_for == due.date():
            continue
        with transaction.atomic():
            claimed = (
                RelayClient.objects.filter(pk=client.pk)
                .exclude(reminder_sent_for=due.date())
                .update(reminder_sent_for=due.date())
            )
            if not claimed:
                continue  # another beat run took it
            state = "is overdue since" if client.rotation_state == "overdue" else "is due"
            url = f"{settings.SITE_URL.rstrip('/')}/relay/{client.pk}/"
            body = REMINDER_BODY.format(
                owner=client.owner,
                name=client.name,
                tenant=client.tenant.name,
                state=state,
                due=due,
                url=url,
            )
            try:
                send_mail(REMINDER_SUBJECT.format(name=client.name), body, None,
                          [client.owner_email], fail_silently=False)  # fmt: skip
            except OSError as exc:
                record("relay.rotation_reminder", target=client, tenant=client.tenant,
                       after={"to": client.owner_email, "error": str(exc)[:200]},
                       result="error")  # fmt: skip
                transaction.set_rollback(True)  # try again on the next run
                continue
            record("relay.rotation_reminder", target=client, tenant=client.tenant,
                   after={"to": client.owner_email, "state": client.rotation_state,
                          "due": due.date().isoformat()})  # fmt: skip
            sent += 1
    return {"sent": sent, "at": timezone.now().isoformat()}
