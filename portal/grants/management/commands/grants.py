"""``manage.py grants script GRANT_ID --action apply|check|remove`` (and ``grants verify``)."""

from django.core.management.base import BaseCommand, CommandError

from portal.grants import powershell
from portal.grants.models import Grant


class Command(BaseCommand):
    help = "Application permission grants: print a grant's PowerShell, or verify grants."

    def add_arguments(self, parser):
        sub = parser.add_subparsers(dest="command", required=True)
        script = sub.add_parser("script", help="Print the PowerShell the grant's page shows.")
        script.add_argument("grant_id", type=int)
        script.add_argument("--action", choices=powershell.ACTIONS, default="apply")

    def handle(self, *args, **options):
        return self.script(options["grant_id"], options["action"])

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
