from django.contrib import messages
from django.http import HttpResponse
from django.shortcuts import redirect
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods

from portal.audit.api import record
from portal.lib.access import Role, requires
from portal.lib.htmx import render
from portal.relay import csvio
from portal.relay.models import RelayClient


@requires()
@require_http_methods(["GET"])
def export(request):
    clients = RelayClient.objects.select_related("tenant")
    body = csvio.export_csv(clients)
    record("relay.export", target={"type": "relay.relayclient", "id": "", "label": "CSV export"},
           after={"rows": clients.count()})  # fmt: skip
    response = HttpResponse(body, content_type="text/csv; charset=utf-8")
    name = f"relay-clients-{timezone.now():%Y%m%d}.csv"
    response["Content-Disposition"] = f'attachment; filename="{name}"'
    return response


@requires(read=Role.OPERATOR, change=Role.OPERATOR)
@require_http_methods(["GET", "POST"])
def import_view(request):
    context = {"columns": csvio.COLUMNS, "required": sorted(csvio.REQUIRED), "result": None}
    if request.method == "POST":
        upload = request.FILES.get("file")
        if upload is None:
            messages.error(request, _("Choose a CSV file to import."))
            return render(request, "relay/import.html", context, status=400)
        result = csvio.import_csv(upload.read(csvio.MAX_BYTES + 1))
        target = {"type": "relay.relayclient", "id": "", "label": "CSV import"}
        if not result.ok:
            record("relay.import", target=target, result="failure",
                   after={"file": upload.name[:200], "errors": len(result.errors)})  # fmt: skip
            context["result"] = result
            return render(request, "relay/import.html", context, status=400)
        messages.success(request, _(
            "Imported: %(created)s added, %(updated)s changed, %(unchanged)s unchanged."
        ) % {"created": result.created, "updated": result.updated,
             "unchanged": result.unchanged})  # fmt: skip
        return redirect("relay:list")
    return render(request, "relay/import.html", context)
