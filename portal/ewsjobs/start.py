"""Start an EWS job (the view and ``manage.py ews_job`` both come here): check, record, send.

Everything a person could get wrong is refused before anything is created: the grant, every
target against its scope, the parameters of the kind, and for a rule's real run the dry run it
must follow. Then one transaction writes the Job, the EwsJob and its targets, and the job's
message is sent when that commits.
"""

import json

from django.conf import settings
from django.db import transaction
from django.utils.translation import gettext_noop

from portal.ewsjobs import specs
from portal.ewsjobs.models import EwsJob, Target, new_key_base
from portal.ewsjobs.scope import Refused, all_in_scope, in_scope, usable_grant
from portal.jobs.api import start_job
from portal.jobs.models import Job

LABELS = {
    EwsJob.Kind.SEARCH: gettext_noop("Search mailboxes"),
    EwsJob.Kind.PUBLISH: gettext_noop("Publish calendar events"),
    EwsJob.Kind.TASKS: gettext_noop("Create tasks"),
    EwsJob.Kind.RULES: gettext_noop("Content rule"),
}
DRY_LABEL = gettext_noop("Content rule (dry run)")


def matching_dry_run(tenant, grant, params: dict, targets: list[str]) -> EwsJob | None:
    """The newest finished dry run of exactly this rule, these targets, under this grant."""
    runs = EwsJob.objects.filter(
        kind=EwsJob.Kind.RULES, dry_run=True, tenant=tenant, grant=grant,
        job__status__in=[Job.Status.SUCCEEDED, Job.Status.WARNING, Job.Status.PROBLEMS],
    ).order_by("-job__created_at")  # fmt: skip
    wanted = sorted(targets)
    for run in runs[:20]:
        if run.params == params and sorted(run.targets.values_list("mailbox", flat=True)) == wanted:
            return run
    return None


def start(*, kind: str, tenant, grant, params, targets: list[str] | None = None,
          every_in_scope: bool = False, dry_run: bool = False, retry_of: EwsJob | None = None,
          ) -> EwsJob:  # fmt: skip
    """Check everything, then create and send the job. Raises Refused with the reason."""
    if kind not in EwsJob.Kind.values:
        raise Refused(gettext_noop("Unknown job kind %(kind)s: choose search, publish, tasks or "
                                   "rules."), kind=str(kind)[:40])  # fmt: skip
    if dry_run and kind != EwsJob.Kind.RULES:
        raise Refused(gettext_noop("Only content rules have a dry run."))
    grant = usable_grant(grant, tenant)
    if every_in_scope:
        targets = all_in_scope(grant)
    if not targets:
        raise Refused(gettext_noop("Give at least one target mailbox."))
    in_scope(grant, targets)
    params = specs.validate(kind, params)
    dry_run_of = None
    if kind == EwsJob.Kind.RULES and not dry_run and retry_of is None:
        dry_run_of = matching_dry_run(tenant, grant, params, targets)
        if dry_run_of is None:
            raise Refused(gettext_noop(
                "A content rule changes mailboxes: run it as a dry run first, review what it "
                "would change, then start the real run from the dry run's page (same rule, "
                "same mailboxes, same grant)."))  # fmt: skip
    label = DRY_LABEL if dry_run else LABELS[kind]
    with transaction.atomic():
        from portal.ewsjobs.tasks import run_job  # the task module imports this one

        job = start_job(run_job, kind=f"ews.{kind}", label=label, kwargs={}, tenant=tenant)
        ewsjob = EwsJob.objects.create(
            job=job, kind=kind, tenant=tenant, grant=grant, params=params, dry_run=dry_run,
            dry_run_of=dry_run_of, retry_of=retry_of,
            key_base=(retry_of.key_base if retry_of else new_key_base()),
            batch_size=settings.EWS_JOB_BATCH,
        )  # fmt: skip
        Target.objects.bulk_create([Target(ewsjob=ewsjob, mailbox=t) for t in targets])
    job.refresh_from_db()
    return ewsjob


def retry_failed(ewsjob: EwsJob) -> EwsJob:
    """A new job for the mailboxes that failed, reusing the first job's item keys."""
    failed = list(ewsjob.targets.filter(status__in=[Target.Status.FAILED, Target.Status.PARTLY,
                                                    Target.Status.CANCELLED])
                  .values_list("mailbox", flat=True))  # fmt: skip
    if not failed:
        raise Refused(gettext_noop("No mailbox of this job failed: there is nothing to retry."))
    root = ewsjob.retry_of or ewsjob
    params = ewsjob.params
    if ewsjob.kind == EwsJob.Kind.RULES and not ewsjob.dry_run:
        # The retry acts on what the original dry run found, like the run it repeats.
        retry = start(kind=ewsjob.kind, tenant=ewsjob.tenant, grant=ewsjob.grant, params=params,
                      targets=failed, retry_of=root)  # fmt: skip
        EwsJob.objects.filter(pk=retry.pk).update(dry_run_of=ewsjob.dry_run_of_id)
        retry.dry_run_of_id = ewsjob.dry_run_of_id
        return retry
    return start(kind=ewsjob.kind, tenant=ewsjob.tenant, grant=ewsjob.grant, params=params,
                 targets=failed, dry_run=ewsjob.dry_run, retry_of=root)  # fmt: skip


def parse_params(text: str) -> dict:
    try:
        value = json.loads(text or "{}")
    except ValueError as exc:
        raise Refused(gettext_noop("The parameters are not valid JSON (%(error)s)."),
                      error=str(exc)[:120]) from exc  # fmt: skip
    if not isinstance(value, dict):
        raise Refused(gettext_noop("The parameters must be a JSON object."))
    return value
