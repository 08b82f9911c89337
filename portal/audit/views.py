from django.contrib import messages
from django.shortcuts import redirect
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods

from portal.audit.models import AuditEvent
from portal.audit.tasks import verify_chain_task
from portal.jobs.api import start_job
from portal.lib.access import Role, requires
from portal.lib.htmx import render

PAGE_SIZE = 100


@requires(read=Role.VIEWER, change=Role.ADMIN)
@require_http_methods(["GET", "POST"])
def event_list(request):
    if request.method == "POST":
        # "Verify now": walk the chain in the background; the outcome is an audit event itself.
        job = start_job(
            verify_chain_task, kind="audit.verify", label=_("Verify audit chain"), kwargs={}
        )
        messages.success(request, _("Chain verification started."))
        return redirect("jobs:detail", job_id=job.pk)
    events = AuditEvent.objects.all()[:PAGE_SIZE]
    last_verify = AuditEvent.objects.filter(action="audit.verify").first()
    return render(request, "audit/list.html", {"events": events, "last_verify": last_verify})
