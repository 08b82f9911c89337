"""manage.py integrations check [--tenant NAME] [--json]

Runs every integration's health checks now, in the foreground (the same checks the portal's
jobs run, recorded the same way). With --json: one JSON object per integration × feature per
line: {"tenant", "integration", "feature", "status": "green|amber|red|retired", "step",
"detail", "hint"}. Exit status: 0 when no check is red, 1 when one is, 2 for a usage error
(unknown tenant).
"""

import json
import sys

from django.core.management.base import BaseCommand, CommandError
from django.utils import translation

from portal.audit import context
from portal.integrations import service
from portal.integrations.models import Integration
from portal.integrations.models import Status as Light
from portal.tenants.models import Tenant


class Command(BaseCommand):
    help = "Check SharePoint and Skype for Business integrations now."

    def add_arguments(self, parser):
        sub = parser.add_subparsers(dest="subcommand", required=True, metavar="{check}")
        check = sub.add_parser("check", help="run every integration's health checks now")
        check.add_argument("--tenant", help="only this tenant's integrations (by name)")
        check.add_argument("--json", action="store_true",
                           help="one JSON object per integration and feature per line")  # fmt: skip

    def handle(self, *args, subcommand, tenant=None, json=False, **options):
        integrations = Integration.objects.select_related("tenant").order_by("tenant__name",
                                                                              "name")  # fmt: skip
        if tenant is not None:
            if not Tenant.objects.filter(name=tenant).exists():
                raise CommandError(f"No tenant is named {tenant!r}.", returncode=2)
            integrations = integrations.filter(tenant__name=tenant)
        red = False
        token = context.activate(context.AuditContext(actor_username=f"cli:{_os_user()}"))
        try:
            with translation.override("en"):
                for integration in integrations:
                    for outcome in service.run_checks(integration):
                        red = red or outcome.status == Light.RED
                        self._print(integration, outcome, json)
        finally:
            context.deactivate(token)
        sys.exit(1 if red else 0)

    def _print(self, integration, outcome, as_json):
        if as_json:
            line = json_dumps(outcome.as_json(integration))
        else:
            line = (f"{integration.tenant.name} · {integration.name} · {outcome.feature}: "
                    f"{outcome.status}")  # fmt: skip
            if outcome.status != Light.GREEN:
                line += f" — {outcome.step}: {outcome.detail}"
                if outcome.hint:
                    line += f"\n    {outcome.hint}"
        self.stdout.write(line)
        self.stdout.flush()


def json_dumps(data: dict) -> str:
    return json.dumps(data, ensure_ascii=False)


def _os_user() -> str:
    import getpass

    try:
        return getpass.getuser()
    except (KeyError, OSError):
        return "unknown"
