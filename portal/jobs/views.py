from django.views.decorators.http import require_GET

from portal.jobs import kinds
from portal.jobs.models import Job
from portal.lib.access import get_object_for_user, requires
from portal.lib.htmx import render

PAGE_SIZE = 50


@requires()
@require_GET
def job_list(request):
    jobs = Job.objects.select_related("created_by")[:PAGE_SIZE]
    return render(request, "jobs/list.html", {"jobs": jobs})


@requires()
@require_GET
def job_detail(request, job_id):
    job = get_object_for_user(Job.objects.select_related("created_by"), request.user, pk=job_id)
    describe = kinds.get(job.kind).describe
    summary = describe(job) if describe else None
    if summary is not None and not job.is_done and not summary.links:
        summary = None  # nothing has started yet: no outcome to speak of
    # A finished job's message is often its outcome again ("8 passed"): say it once.
    repeats = (
        summary is not None and job.is_done and (job.result or {}).get("message") == job.message
    )
    context = {"job": job, "summary": summary, "show_message": bool(job.message) and not repeats}
    return render(request, "jobs/detail.html", context, partial="status")
