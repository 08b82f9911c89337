"""``manage.py ews_job start|status|cancel`` — the same engine and checks as the pages.

Exit codes (an interface): 0 the job succeeded (or, without --wait, was started; status of a
succeeded job; cancel accepted), 1 the job failed, partly failed or was cancelled, 2 usage
errors and refusals (scope, grant, parameters, unknown job).
"""

import getpass
import json
import sys
import time
import uuid

from django.core.management.base import BaseCommand, CommandError
from django.utils import translation

from portal.audit import context
from portal.audit.api import record
from portal.ewsjobs import finish, start
from portal.ewsjobs.models import EwsJob
from portal.ewsjobs.scope import Refused, parse_targets
from portal.grants.models import Grant
from portal.jobs.models import Job
from portal.tenants.models import Tenant

GOOD = {Job.Status.SUCCEEDED}


def _os_user() -> str:
    try:
        return getpass.getuser()
    except (KeyError, OSError):
        return "unknown"


def public_line(ewsjob: EwsJob) -> dict:
    """The public line (field names are an interface)."""
    return {"job": str(ewsjob.pk), "status": ewsjob.job.status, "done": ewsjob.done,
            "failed": ewsjob.failed, "total": ewsjob.total}  # fmt: skip


class Command(BaseCommand):
    help = "Long EWS jobs: start one (search, publish, tasks, rules), show its status, cancel it."

    def add_arguments(self, parser):
        sub = parser.add_subparsers(dest="subcommand", required=True)
        st = sub.add_parser("start", help="Start a job under an active grant.")
        st.add_argument("kind", choices=EwsJob.Kind.values)
        st.add_argument("--tenant", required=True, help="the tenant's display name")
        st.add_argument("--grant", required=True, type=int, help="the grant's id")
        targets = st.add_mutually_exclusive_group(required=True)
        targets.add_argument("--targets", help="mailboxes, comma separated")
        targets.add_argument("--targets-file", help="a file: one mailbox a line, or a CSV")
        targets.add_argument("--all-in-scope", action="store_true",
                             help="every mailbox recorded in the grant's scope")  # fmt: skip
        st.add_argument("--params", default="{}", help="the kind's parameters as JSON")
        st.add_argument("--dry-run", action="store_true", help="rules: list what would change")
        st.add_argument("--wait", action="store_true", help="wait until the job ends")
        st.add_argument("--json", action="store_true", help="one JSON line")
        status = sub.add_parser("status", help="Show a job's status.")
        status.add_argument("job")
        status.add_argument("--json", action="store_true")
        cancel = sub.add_parser("cancel", help="Stop a job: nothing new starts.")
        cancel.add_argument("job")

    def handle(self, *args, subcommand, **options):
        token = context.activate(context.AuditContext(actor_username=f"cli:{_os_user()}"))
        try:
            with translation.override("en"):
                if subcommand == "start":
                    return self.start(**options)
                if subcommand == "status":
                    return self.status(self._job(options["job"]), options["json"])
                return self.cancel(self._job(options["job"]))
        except Refused as exc:
            raise CommandError(str(exc), returncode=2) from None
        finally:
            context.deactivate(token)

    def _job(self, value: str) -> EwsJob:
        try:
            pk = uuid.UUID(str(value))
        except ValueError:
            raise CommandError(f"{value!r} is not a job id.", returncode=2) from None
        ewsjob = EwsJob.objects.select_related("job").filter(pk=pk).first()
        if ewsjob is None:
            raise CommandError(f"No EWS job with id {value}.", returncode=2)
        return ewsjob

    def start(self, *, kind, tenant, grant, targets, targets_file, all_in_scope, params, dry_run,
              wait, **options):  # fmt: skip
        as_json = options["json"]
        tenant_row = Tenant.objects.filter(name=tenant).first()
        if tenant_row is None:
            raise CommandError(f"No tenant is named {tenant!r}.", returncode=2)
        grant_row = Grant.objects.select_related("application__tenant").filter(pk=grant).first()
        if targets_file:
            try:
                with open(targets_file, encoding="utf-8") as fh:
                    text = fh.read(2_000_000)
            except (OSError, UnicodeDecodeError) as exc:
                raise CommandError(f"Cannot read {targets_file}: {exc}", returncode=2) from None
            mailboxes = parse_targets(text)
        else:
            mailboxes = parse_targets(targets or "") if not all_in_scope else None
        ewsjob = start.start(kind=kind, tenant=tenant_row, grant=grant_row,
                             params=start.parse_params(params), targets=mailboxes,
                             every_in_scope=all_in_scope, dry_run=dry_run)  # fmt: skip
        if ewsjob.job.status == Job.Status.FAILED:  # the queue refused the message
            self._print(ewsjob, as_json)
            self.stderr.write(ewsjob.job.message)
            sys.exit(1)
        if wait:
            while True:
                ewsjob.job.refresh_from_db()
                if ewsjob.job.is_done:
                    break
                time.sleep(1)
            ewsjob.refresh_from_db()
        self._print(ewsjob, as_json)
        if wait and ewsjob.job.status not in GOOD:
            sys.exit(1)

    def status(self, ewsjob: EwsJob, as_json: bool):
        self._print(ewsjob, as_json)
        if ewsjob.job.is_done and ewsjob.job.status not in GOOD:
            sys.exit(1)

    def cancel(self, ewsjob: EwsJob):
        accepted = finish.request_cancel(ewsjob)
        result = "success" if accepted else "failure"
        record("ewsjob.cancel", target=ewsjob.job, tenant=ewsjob.tenant,
               after={"accepted": accepted}, result=result)  # fmt: skip
        if not accepted:
            raise CommandError(f"Job {ewsjob.pk} has already ended ({ewsjob.job.status}).",
                               returncode=2)  # fmt: skip
        self.stdout.write(f"Job {ewsjob.pk}: cancel requested; no new chunk will start.")

    def _print(self, ewsjob: EwsJob, as_json: bool):
        line = public_line(ewsjob)
        if as_json:
            self.stdout.write(json.dumps(line))
        else:
            self.stdout.write(f"job {line['job']}: {line['status']} — {line['done']} done, "
                              f"{line['failed']} failed of {line['total']}")  # fmt: skip
