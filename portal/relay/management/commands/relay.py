"""manage.py relay test NAME [--tenant T] [--to ADDRESS] [--json]: a test send in the foreground.

Exit codes: 0 the message was accepted, 1 the test ran and failed, 2 the command could not start
(unknown or ambiguous client, no usable recipient).
"""

import json
import sys

from django.core.management.base import BaseCommand, CommandError

from portal.audit.api import record
from portal.relay import testsend
from portal.relay.forms import TestSendForm
from portal.relay.models import RelayClient, RelayTest


def _plain(step: dict) -> dict:
    """A step as the engine's CLI prints it: English text, no portal-only keys."""
    return {k: v for k, v in step.items() if not k.endswith("_msg") and k != "fix"}


class Command(BaseCommand):
    help = "Relay clients: send a test message with a client's stored credential."

    def add_arguments(self, parser):
        sub = parser.add_subparsers(dest="subcommand", required=True)
        test = sub.add_parser("test", help="Send the fixed test message now and report each step.")
        test.add_argument("name", help="the relay client's name")
        test.add_argument("--tenant", help="the tenant's name, when several clients share NAME")
        test.add_argument(
            "--to", dest="recipient", help="recipient address (default: the tenant's test mailbox)"
        )
        test.add_argument("--json", action="store_true", help="print one JSON object")

    def handle(self, *args, subcommand, **options):
        client = self._client(options["name"], options["tenant"])
        recipient = self._recipient(client, options["recipient"])
        test = testsend.execute(RelayTest.objects.create(client=client, recipient=recipient))
        ok = test.status == RelayTest.Status.PASS
        record("relay.test_send", target=client, tenant=client.tenant,
               after={"recipient": recipient, "status": test.status, "via": "manage.py relay test",
                      "message_id": test.message_id, "reference": test.reference},
               result="success" if ok else "failure")  # fmt: skip
        steps = [_plain(s) for s in test.steps]
        if options["json"]:
            self.stdout.write(json.dumps({
                "client": client.name, "tenant": client.tenant.name, "ok": ok,
                "message_id": test.message_id or None, "steps": steps,
            }))  # fmt: skip
        else:
            for step in steps:
                self.stdout.write(f"{step['status'].upper():5} {step['name']}: {step['detail']}")
                if step.get("hint"):
                    self.stdout.write(f"      {step['hint']}")
            self.stdout.write(f"{'OK' if ok else 'FAILED'}: {client.name} → {recipient}")
        sys.exit(0 if ok else 1)

    def _client(self, name: str, tenant: str | None) -> RelayClient:
        clients = RelayClient.objects.select_related("tenant").filter(name=name)
        if tenant:
            clients = clients.filter(tenant__name=tenant)
        found = list(clients[:2])
        if not found:
            where = f" in tenant {tenant!r}" if tenant else ""
            raise CommandError(f"No relay client named {name!r}{where}.", returncode=2)
        if len(found) > 1:
            raise CommandError(
                f"Several tenants have a relay client named {name!r}: add --tenant NAME.",
                returncode=2,
            )
        return found[0]

    def _recipient(self, client: RelayClient, given: str | None) -> str:
        value = given or client.tenant.test_mailbox
        if not value:
            raise CommandError(
                "No recipient: give --to ADDRESS or set the tenant's default test mailbox.",
                returncode=2,
            )
        form = TestSendForm({"recipient": value}, client=client)
        if not form.is_valid():
            errors = "; ".join(str(e) for e in form.errors["recipient"])
            raise CommandError(f"Recipient {value!r} refused: {errors}", returncode=2)
        return form.cleaned_data["recipient"]
