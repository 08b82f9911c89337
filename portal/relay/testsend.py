"""A test send: the engine's SMTP probe with the client's stored credential, steps kept live.

The message is fixed (the probe's own text; a subject carrying a random reference so it can be
found in the mailbox); only the validated recipient comes from the person asking.
"""

import contextlib
import re
import secrets

from django.conf import settings
from django.utils import timezone

from connectivity import probes
from connectivity.ews import TokenError, fetch_token
from connectivity.explain import explain, said
from connectivity.i18n import N_
from connectivity.probes.core import InvalidInput
from connectivity.tlspolicy import verification_off
from portal.relay.models import RelayClient, RelayTest
from portal.runs.runner import CannotRun, ca_file_for

CREDENTIAL_STEP = N_("Stored credential")
SUBJECT = "Exchange Interop Portal relay test {ref}"
# Exchange names the message in its DATA reply: "250 2.6.0 <id@host> [InternalId=…] Queued…".
_REPLY_MSGID = re.compile(r"<([^<>\s]{3,250})>")
_SENT_MSGID = re.compile(r"accepted as <([^<>\s]{3,250})>")


def subject_for(reference: str) -> str:
    return SUBJECT.format(ref=reference)


def probe_kwargs(client: RelayClient, recipient: str, reference: str, ca_file) -> dict:
    host, port, security = client.endpoint()
    if not host:
        raise CannotRun(N_("no SMTP host is set for this client or its tenant"),
                        N_("Set the SMTP host on the client or on its tenant and try again."),
                        step=CREDENTIAL_STEP, fix="")  # fmt: skip
    kwargs = {
        "host": host, "port": port, "security": security, "rcpt_to": recipient,
        "subject": subject_for(reference), "ca_file": ca_file,
        "timeout": settings.PROBE_TIMEOUT, "allow_link_local": settings.PROBE_ALLOW_LINK_LOCAL,
    }  # fmt: skip
    if client.method_info.authenticates:
        if not client.has_credential or not client.username:
            raise CannotRun(
                N_("this client has no stored credential"),
                N_("Ask a portal Admin to set the client's credential, then test again."),
                step=CREDENTIAL_STEP, fix="",
            )  # fmt: skip
        kwargs["username"] = client.username
        if client.method == "smtp_oauth":
            ep = client.tenant.endpoints()
            try:
                token = fetch_token(ep["token_url"], client.oauth_client_id,
                                    client.oauth_client_secret, scope=ep["scope"],
                                    ca_file=ca_file, timeout=settings.PROBE_TIMEOUT)  # fmt: skip
            except TokenError as exc:
                raise CannotRun(said(exc), N_("Check the OAuth client id and secret."),
                                step=CREDENTIAL_STEP, fix="") from exc  # fmt: skip
            kwargs["token"] = token["access_token"]
        else:
            kwargs["password"] = client.password
    kwargs["mail_from"] = (client.sender_addresses or [client.username or recipient])[0]
    return kwargs


def message_id_from(steps: list[dict]) -> str:
    send = next((s for s in steps if s.get("name") == "Send test message"), None)
    if not send or send.get("status") != "pass":
        return ""
    # The test message's own Message-ID (the engine names it), else the one the server replied.
    match = _SENT_MSGID.search(send.get("detail") or "") or _REPLY_MSGID.search(
        send.get("detail") or ""
    )
    return match.group(1) if match else ""


def execute(test: RelayTest) -> RelayTest:
    """Run the test send now, saving each step as it finishes."""
    client = RelayClient.objects.select_related("tenant").get(pk=test.client_id)
    test.status, test.steps = RelayTest.Status.RUNNING, []
    test.reference = test.reference or secrets.token_hex(6)
    test.save(update_fields=["status", "steps", "reference"])

    def on_step(step):
        test.steps.append(step.to_dict(messages=True))
        RelayTest.objects.filter(pk=test.pk).update(steps=test.steps)

    try:
        with contextlib.ExitStack() as stack:
            if not client.tenant.tls_verify:
                stack.enter_context(verification_off())
            ca_file = ca_file_for(client.tenant)
            kwargs = probe_kwargs(client, test.recipient, test.reference, ca_file)
            result = probes.probe_smtp(**kwargs, on_step=on_step)
        test.steps = [s.to_dict(messages=True) for s in result.steps]
        test.status = RelayTest.Status.PASS if result.ok else RelayTest.Status.FAIL
        test.message_id = message_id_from(test.steps)
    except Exception as exc:  # noqa: BLE001 - whatever stops a test is shown as a step in words
        if isinstance(exc, CannotRun):
            failure = exc
        elif isinstance(exc, InvalidInput):
            failure = CannotRun(said(exc), N_("Correct the client's settings and test again."),
                                step=CREDENTIAL_STEP, fix="")  # fmt: skip
        else:
            detail, hint = explain(exc, timeout=settings.PROBE_TIMEOUT)
            failure = CannotRun(detail, hint, step=CREDENTIAL_STEP, fix="")
        test.steps = [*test.steps, failure.step_dict()]
        test.status, test.error = RelayTest.Status.ERROR, str(failure.detail)[:500]
    test.finished_at = timezone.now()
    test.save(update_fields=["steps", "status", "message_id", "error", "finished_at"])
    now = test.finished_at
    fields = {"last_test_at": now, "last_test_ok": test.status == RelayTest.Status.PASS}
    if test.status == RelayTest.Status.PASS:
        fields["last_success_at"] = now
    RelayClient.objects.filter(pk=client.pk).update(**fields)
    return test
