"""The Admin page: download the export; upload a document, read its plan, confirm, apply.

The uploaded document waits in the session (it holds no secrets: only references), keyed by
its SHA-256; the confirmation names that hash, and the document is validated again when it is
applied, inside the transaction that applies it.
"""

from django.contrib import messages
from django.http import HttpResponse
from django.shortcuts import redirect
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods, require_POST

from portal.configuration import document, exporter, report
from portal.configuration.planner import Plan, run
from portal.configuration.registry import Context
from portal.lib.access import Role, requires, requires_reauthentication
from portal.lib.htmx import render

PENDING = "configuration_pending"


@requires(read=Role.ADMIN, change=Role.ADMIN)
@require_http_methods(["GET", "POST"])
def index(request):
    if request.method == "GET":
        return render(request, "configuration/index.html", {})
    prune = request.POST.get("prune") == "on"
    upload = request.FILES.get("document")
    if upload is None:
        plan = Plan(sha256="", errors=[("", _("Choose a YAML file to upload."))])
    elif upload.size > document.MAX_BYTES:
        plan = Plan(sha256="", errors=[("", document.too_large_message())])
    else:
        data = document.read_limited(upload)
        plan = run(data, Context(from_web=True, prune=prune))
        if plan.valid and plan.changes:
            request.session[PENDING] = {
                "sha256": plan.sha256, "document": data.decode("utf-8"), "prune": prune,
                "name": upload.name[:200],
            }  # fmt: skip
    status = 200 if plan.valid else 400
    return render(request, "configuration/index.html", _plan_context(plan, prune), status=status)


@requires(read=Role.ADMIN, change=Role.ADMIN)
@require_http_methods(["GET"])
def download(request):
    response = HttpResponse(exporter.export(), content_type="application/yaml; charset=utf-8")
    response["Content-Disposition"] = 'attachment; filename="portal-configuration.yaml"'
    return response


@requires(read=Role.ADMIN, change=Role.ADMIN)
@requires_reauthentication  # applying may set secrets, turn off TLS checks or delete tenants
@require_POST
def apply(request):
    pending = request.session.get(PENDING)
    sha = request.POST.get("sha256", "")
    data = pending["document"].encode("utf-8") if pending else b""
    if not pending or pending["sha256"] != sha or document.sha256(data) != sha:
        messages.error(request, _("There is no such plan waiting: upload the document again."))
        return redirect("configuration:index")
    plan = run(data, Context(from_web=True, prune=pending["prune"]), apply=True,
               source={"via": "web", "file_name": pending["name"]})  # fmt: skip
    del request.session[PENDING]
    if not plan.valid:
        context = _plan_context(plan, pending["prune"])
        return render(request, "configuration/index.html", context, status=400)
    messages.success(request, report.summary_line(plan))
    return redirect("configuration:index")


def _plan_context(plan: Plan, prune: bool) -> dict:
    return {
        "plan": plan,
        "prune": prune,
        "errors": report.error_lines(plan),
        "changes": plan.changes,
        "summary": report.summary_line(plan),
    }
