from django.contrib.auth.decorators import login_not_required
from django.http import JsonResponse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET

from portal.accounts.checks import sso_origin_report
from portal.core.health import audit_guard_status, broker_status, database_status
from portal.lib.access import Role, has_role, requires
from portal.lib.htmx import render


@requires()
@require_GET
def dashboard(request):
    return render(request, "core/dashboard.html", {})


@login_not_required
@never_cache
@require_GET
def healthz(request):
    db_ok, db_detail = database_status()
    broker_ok, broker_detail = broker_status()
    ok = db_ok and broker_ok
    # Still serving, but the audit log can be changed silently: "degraded", not 503.
    guard_ok, guard_detail = audit_guard_status() if db_ok else (False, "database unavailable")
    body = {
        "status": ("ok" if guard_ok else "degraded") if ok else "unavailable",
        "database": {"ok": db_ok, "detail": db_detail},
        "broker": {"ok": broker_ok, "detail": broker_detail},
        "audit_guard": {"ok": guard_ok, "detail": guard_detail},
        # Reported, not fatal: the portal still serves local sign-in when an IdP is misconfigured.
        "sso": sso_summary(request),
    }
    return JsonResponse(body, status=200 if ok else 503)


def sso_summary(request) -> dict:
    """Provider names, IdP origins and metadata URLs are for a signed-in Admin (and for
    `manage.py check`); anyone else, a load balancer too, learns only "fine or not" and a count."""
    report = sso_origin_report()
    if has_role(request.user, Role.ADMIN) and not getattr(request, "mfa_enrolment_required", True):
        return report
    return {"ok": report["ok"], "providers": len(report["providers"])}
