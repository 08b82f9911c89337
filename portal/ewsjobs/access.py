"""How a job acts as the grant's application (the same credentials grant verification uses)."""

from django.conf import settings

from connectivity import ewsjobs as engine
from portal.grants.models import Application
from portal.runs.runner import ca_file_for
from portal.tenants.models import Tenant


def access_for(ewsjob) -> "engine.AppAccess":
    app, tenant = ewsjob.grant.application, ewsjob.tenant
    ep = tenant.endpoints()
    basic = app.auth == Application.Auth.BASIC and bool(app.service_account)
    auth = "oauth"
    if basic:  # a service account signs in the way the tenant's Exchange Server expects
        auth = "ntlm" if tenant.auth_method == Tenant.Auth.NTLM else "basic"
    return engine.AppAccess(
        ews_url=ep["ews_url"], token_url=ep["token_url"], client_id=app.client_id,
        client_secret="" if basic else app.credential_secret, scope=ep["scope"],
        ca_file=ca_file_for(tenant), timeout=settings.EWS_JOB_TIMEOUT,
        username=app.service_account if basic else "",
        password=app.credential_secret if basic else "", auth=auth,
    )  # fmt: skip
