"""EWS job pages: the list, a job's page with its live progress, its results as CSV, and the
buttons that act on a running or finished job (cancel, retry the failed mailboxes)."""

from django.contrib import messages
from django.http import StreamingHttpResponse
from django.shortcuts import redirect
from django.utils.translation import gettext as _
from django.utils.translation import gettext_noop
from django.views.decorators.http import require_GET, require_POST

from portal.audit.api import record
from portal.ewsjobs import export, finish, present, start
from portal.ewsjobs.forms import FORMS
from portal.ewsjobs.models import EwsJob, Found, Target
from portal.ewsjobs.scope import Refused
from portal.grants.models import Grant
from portal.jobs.api import QueueUnavailable
from portal.jobs.models import Job
from portal.lib.access import Role, get_object_for_user, requires
from portal.lib.htmx import render
from portal.lib.paging import paginate

TARGETS_PAGE = 50
RESULTS_PAGE = 50
FINISHED = (Job.Status.SUCCEEDED, Job.Status.WARNING, Job.Status.PROBLEMS)
RETRYABLE = (Target.Status.FAILED, Target.Status.PARTLY, Target.Status.CANCELLED)


def _jobs():
    return EwsJob.objects.select_related("job__created_by", "tenant", "grant__application")


@requires()
@require_GET
def index(request):
    page = paginate(request, _jobs().order_by("-job__created_at"))
    has_grants = Grant.objects.filter(status=Grant.Status.ACTIVE).exists()
    return render(request, "ewsjobs/list.html", {"page": page, "has_grants": has_grants})


@requires(read=Role.OPERATOR, change=Role.OPERATOR)
@require_GET
def choose(request):
    kinds = [(kind, EwsJob.Kind(kind).label) for kind in FORMS]
    return render(request, "ewsjobs/choose.html", {"kinds": kinds})


def shows_results(ewsjob: EwsJob) -> bool:
    """Searches and rules list messages (a dry run what it would change, a real run what it did)."""
    return ewsjob.kind in (EwsJob.Kind.SEARCH, EwsJob.Kind.RULES)


def _results(request, ewsjob: EwsJob):
    """One page of the messages found, by mailbox. The page's rows are chosen by sorting their
    keys only, then fetched: sorting whole rows (item ids run to hundreds of characters) of a
    search that found tens of thousands of messages spilled to disk on every page view."""
    order = ("target__mailbox", "position")
    keys = ewsjob.results.order_by(*order).values_list("pk", flat=True)
    page = paginate(request, keys, per_page=RESULTS_PAGE, param="rpage")
    page.object_list = (Found.objects.filter(pk__in=page.object_list)
                        .select_related("target").order_by(*order))  # fmt: skip
    return page


@requires()
@require_GET
def detail(request, pk):
    ewsjob = get_object_for_user(
        _jobs().select_related("dry_run_of__job", "retry_of__job"), request.user, pk=pk
    )
    job = ewsjob.job
    targets = paginate(request, ewsjob.targets.all(), per_page=TARGETS_PAGE, param="mpage")
    results = _results(request, ewsjob) if shows_results(ewsjob) else None
    real_runs = list(ewsjob.real_runs.select_related("job").order_by("-job__created_at")[:5])
    retries = list(ewsjob.retries.select_related("job").order_by("-job__created_at")[:5])
    retryable = job.is_done and ewsjob.targets.filter(status__in=RETRYABLE).exists()
    context = {
        "ewsjob": ewsjob, "job": job, "params": present.params_words(ewsjob),
        "progress": present.progress(ewsjob), "targets": targets, "results": results,
        "real_runs": real_runs, "retries": retries, "can_retry": retryable,
        "can_cancel": job.status in Job.ACTIVE and not ewsjob.cancel_requested_at,
        "can_run": ewsjob.dry_run and job.status in FINISHED and not real_runs,
    }  # fmt: skip
    return render(request, "ewsjobs/detail.html", context, partial="live")


@requires()
@require_GET
def results_csv(request, pk):
    ewsjob = get_object_for_user(EwsJob.objects.select_related("tenant", "job"), request.user,
                                 pk=pk)  # fmt: skip
    rows = ewsjob.results.select_related("target").order_by("target__mailbox", "position")
    # Mailbox contents leave the portal: who took which job's results is recorded.
    record("ewsjob.export", target=ewsjob.job, tenant=ewsjob.tenant,
           after={"rows": rows.count()})  # fmt: skip
    response = StreamingHttpResponse(export.results_csv(rows, ewsjob),
                                     content_type="text/csv; charset=utf-8")  # fmt: skip
    response["Content-Disposition"] = f'attachment; filename="{export.filename(ewsjob)}"'
    return response


@requires(read=Role.OPERATOR, change=Role.OPERATOR)
@require_POST
def cancel(request, pk):
    ewsjob = get_object_for_user(EwsJob.objects.select_related("job", "tenant"), request.user,
                                 Role.OPERATOR, pk=pk)  # fmt: skip
    accepted = finish.request_cancel(ewsjob)
    record("ewsjob.cancel", target=ewsjob.job, tenant=ewsjob.tenant,
           after={"accepted": accepted}, result="success" if accepted else "failure")  # fmt: skip
    if accepted:
        messages.success(request, _("Cancel requested: no new batch starts; what is running "
                                    "now finishes and is recorded."))  # fmt: skip
    else:
        messages.error(request, _("The job had already ended; nothing was changed."))
    return redirect("ewsjobs:detail", pk=ewsjob.pk)


def started(request, new: EwsJob, success: str):
    """Where to go once a job was sent (or its message could not be sent)."""
    if new.job.status == Job.Status.FAILED:
        messages.error(request, new.job.message)  # stored English, translated when shown
    else:
        messages.success(request, success)
    return redirect("ewsjobs:detail", pk=new.pk)


@requires(read=Role.OPERATOR, change=Role.OPERATOR)
@require_POST
def retry(request, pk):
    ewsjob = get_object_for_user(_jobs(), request.user, Role.OPERATOR, pk=pk)
    try:
        if not ewsjob.job.is_done:
            raise Refused(
                gettext_noop("Wait until the job has ended, then retry its failed mailboxes.")
            )
        new = start.retry_failed(ewsjob)
    except (Refused, QueueUnavailable) as exc:
        reason = present.refusal(exc) if isinstance(exc, Refused) else str(exc)
        record("ewsjob.retry", target=ewsjob.job, tenant=ewsjob.tenant, result="denied",
               after={"reason": str(exc)})  # fmt: skip
        messages.error(request, reason)
        return redirect("ewsjobs:detail", pk=ewsjob.pk)
    record("ewsjob.retry", target=ewsjob.job, tenant=ewsjob.tenant,
           after={"retry": str(new.pk), "mailboxes": new.targets.count()})  # fmt: skip
    return started(request, new, _("The failed mailboxes are being tried again in a new job."))
