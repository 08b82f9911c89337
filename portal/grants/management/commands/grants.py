"""``manage.py grants script GRANT_ID --action apply|check|remove`` (and ``grants verify``)."""

import json
import sys

from django.core.management.base import BaseCommand, CommandError

from portal.grants import powershell, verification
from portal.grants.models import Grant
from portal.tenants.models import Tenant


class Command(BaseCommand):
    help = "Application permission grants: print a grant's PowerShell, or verify grants."

    def add_arguments(self, parser):
        sub = parser.add_subparsers(dest="command", required=True)
        script = sub.add_parser("script", help="Print the PowerShell the grant's page shows.")
        script.add_argument("grant_id", type=int)
        script.add_argument("--action", choices=powershell.ACTIONS, default="apply")
        verify = sub.add_parser(
            "verify", help="Verify approved and active grants now, acting as each application."
        )
        verify.add_argument("--tenant", help="only this tenant's grants (its display name)")
        verify.add_argument("--grant", type=int, help="only this grant")
        verify.add_argument("--json", action="store_true", help="one JSON object per grant a line")

    def handle(self, *args, **options):
        if options["command"] == "verify":
            return self.verify(options["tenant"], options["grant"], options["json"])
        return self.script(options["grant_id"], options["action"])

    def verify(self, tenant_name, grant_id, as_json):
        tenant = None
        if tenant_name is not None:
            tenant = Tenant.objects.filter(name=tenant_name).first()
            if tenant is None:
                raise CommandError(f"No tenant named {tenant_name!r}.", returncode=2)
        grants = list(verification.live_grants(tenant, grant_id))
        if grant_id is not None and not grants:
            raise CommandError(
                f"No approved or active grant with id {grant_id}"
                + (f" in tenant {tenant_name!r}." if tenant_name else "."),
                returncode=2,
            )
        all_verified = True
        for grant in grants:
            check = verification.verify(grant)
            all_verified &= check.outcome == "verified"
            line = verification.as_json(check)
            if as_json:
                self.stdout.write(json.dumps(line, ensure_ascii=False))
            else:
                self.stdout.write(
                    f"grant {line['grant']} ({line['tenant']}, {grant.application.name}): "
                    f"{line['outcome']} - {line['detail']}"
                )
        if not all_verified:
            sys.exit(1)

    def script(self, grant_id: int, action: str):
        grant = Grant.objects.select_related("application__tenant").filter(pk=grant_id).first()
        if grant is None:
            raise CommandError(f"No grant with id {grant_id}.")
        try:
            text = powershell.generate(grant, action).text
        except powershell.UnsafeValue:
            raise CommandError(
                f"Grant {grant_id} holds a line break or control character in a value; "
                "correct it on its page, then try again."
            ) from None
        self.stdout.write(text, ending="")
