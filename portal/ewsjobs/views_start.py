"""Starting EWS jobs from the pages: the form of each kind, and a rule's real run after its dry
run (a confirmation page that says what will change)."""

from django.contrib import messages
from django.core.exceptions import BadRequest, RequestDataTooBig, SuspiciousOperation
from django.db.models import Count
from django.http import Http404
from django.http.multipartparser import MultiPartParserError
from django.shortcuts import redirect
from django.utils.translation import gettext as _
from django.views.decorators.csrf import csrf_exempt, csrf_protect
from django.views.decorators.http import require_http_methods

from portal.audit.api import record
from portal.ewsjobs import present, start
from portal.ewsjobs.forms import FORMS, MB, REQUEST_MAX
from portal.ewsjobs.models import EwsJob
from portal.ewsjobs.scope import Refused
from portal.ewsjobs.views import FINISHED, started
from portal.lib.access import Role, get_object_for_user, requires
from portal.lib.htmx import render


def _refused(exc: Refused, tenant, action: str, target=None, **after) -> str:
    """Record the refusal (nothing was created, but someone asked) and say it in words."""
    label = {"type": "ewsjobs.ewsjob", "id": "", "label": action}
    record(action, target=target or label, tenant=tenant, result="denied",
           after={**after, "reason": str(exc)})  # fmt: skip
    return present.refusal(exc)


def _form_page(request, form, kind, status=200, problem=""):
    context = {"form": form, "kind": kind, "label": EwsJob.Kind(kind).label, "problem": problem}
    return render(request, "ewsjobs/form.html", context, status=status)


def _body_problem(request) -> tuple[str, int] | None:
    """A request body the page will not read: too large, or not a form it can parse."""
    try:
        length = int(request.META.get("CONTENT_LENGTH") or 0)
    except ValueError:
        length = 0
    if length > REQUEST_MAX:
        words = _("The upload is larger than %(mb)s MB: nothing was read and nothing was "
                  "started. Split the file, or give the mailboxes as a list.")  # fmt: skip
        return words % {"mb": REQUEST_MAX // MB}, 413
    try:
        request.POST, request.FILES  # noqa: B018 - parse now, where errors can be answered
    except (RequestDataTooBig, MultiPartParserError, SuspiciousOperation, BadRequest):
        return _("The form could not be read (it is too large or damaged). Nothing was "
                 "started: fill it in again."), 400  # fmt: skip
    return None


# CSRF is checked in _new_job, after the size check: the middleware would first read (and
# store) an upload of any size.
@csrf_exempt
@requires(read=Role.OPERATOR, change=Role.OPERATOR)
@require_http_methods(["GET", "POST"])
def new_job(request, kind):
    form_class = FORMS.get(kind)
    if form_class is None:
        raise Http404
    if request.method == "POST":
        problem = _body_problem(request)
        if problem is not None:
            return _form_page(request, form_class(), kind, status=problem[1], problem=problem[0])
    return _new_job(request, kind, form_class)


@csrf_protect
def _new_job(request, kind, form_class):
    if request.method != "POST":
        form = form_class(initial={"tenant": request.GET.get("tenant")})
        return _form_page(request, form, kind)
    form = form_class(request.POST, request.FILES)
    if not form.is_valid():
        return _form_page(request, form, kind)
    data = form.cleaned_data
    try:
        ewsjob = start.start(kind=kind, tenant=data["tenant"], grant=data["grant"],
                             params=form.params, targets=form.targets,
                             every_in_scope=form.every_in_scope,
                             dry_run=kind == EwsJob.Kind.RULES)  # fmt: skip
    except Refused as exc:
        form.add_error(None, _refused(exc, data["tenant"], "ewsjob.start", kind=kind,
                                      grant=data["grant"].pk))  # fmt: skip
        return _form_page(request, form, kind)
    if kind == EwsJob.Kind.RULES:
        done = _("Dry run started: nothing is changed. Review what it finds, then run it for "
                 "real from this page.")  # fmt: skip
    else:
        done = _("Job started.")
    return started(request, ewsjob, done)


def _found_per_mailbox(dry: EwsJob) -> list[tuple[str, int]]:
    rows = (dry.results.values("target__mailbox").annotate(n=Count("pk"))
            .order_by("target__mailbox"))  # fmt: skip
    return [(r["target__mailbox"], r["n"]) for r in rows]


def _why_not(dry: EwsJob, real_runs: list) -> str:
    if not dry.dry_run:
        return _("Only a dry run can be run for real.")
    if dry.job.status not in FINISHED:
        return _("The dry run has not finished: wait for it to end, then review what it found.")
    if real_runs:
        return _("This dry run has already been run for real: open that job (below); use its "
                 "Retry button for mailboxes that failed.")  # fmt: skip
    return ""


@requires(read=Role.OPERATOR, change=Role.OPERATOR)
@require_http_methods(["GET", "POST"])
def run_for_real(request, pk):
    dry = get_object_for_user(
        EwsJob.objects.select_related("job", "tenant", "grant__application"), request.user,
        Role.OPERATOR, pk=pk,
    )  # fmt: skip
    real_runs = list(dry.real_runs.select_related("job").order_by("-job__created_at"))
    why_not = _why_not(dry, real_runs)
    targets = list(dry.targets.values_list("mailbox", flat=True))
    newer = None
    if not why_not:
        newest = start.matching_dry_run(dry.tenant, dry.grant, dry.params, targets)
        if newest is not None and newest.pk != dry.pk:
            newer = newest  # the real run would act on that one's list: review it instead
            why_not = _("A newer dry run of the same rule, mailboxes and grant exists; the "
                        "real run acts on what the newest one found. Review that one.")  # fmt: skip
    if request.method == "POST":
        if why_not:
            record("ewsjob.run", target=dry.job, tenant=dry.tenant, result="denied",
                   after={"reason": why_not})  # fmt: skip
            messages.error(request, why_not)
            return redirect("ewsjobs:detail", pk=dry.pk)
        try:
            real = start.start(kind=EwsJob.Kind.RULES, tenant=dry.tenant, grant=dry.grant,
                               params=dry.params, targets=targets)  # fmt: skip
        except Refused as exc:
            messages.error(request, _refused(exc, dry.tenant, "ewsjob.run", target=dry.job))
            return redirect("ewsjobs:detail", pk=dry.pk)
        record("ewsjob.run", target=dry.job, tenant=dry.tenant,
               after={"real_run": str(real.pk), "messages": dry.results.count()})  # fmt: skip
        return started(request, real, _("The rule is running for real."))
    per_mailbox = _found_per_mailbox(dry)
    return render(request, "ewsjobs/run.html", {
        "dry": dry, "why_not": why_not, "newer": newer, "real_runs": real_runs,
        "per_mailbox": per_mailbox, "messages_total": sum(n for _m, n in per_mailbox),
        "action": present.action_words(dry.params.get("action") or {}),
        "criteria": present.criteria_words(dry.params.get("criteria") or {}),
    })  # fmt: skip
