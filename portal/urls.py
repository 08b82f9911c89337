from django.urls import include, path

from portal.core.views import healthz

urlpatterns = [
    path("healthz", healthz, name="healthz"),
    path("i18n/", include("django.conf.urls.i18n")),
    path("accounts/", include("allauth.urls")),
    path("accounts/", include("portal.accounts.urls")),
    path("jobs/", include("portal.jobs.urls")),
    path("tenants/", include("portal.tenants.urls")),
    path("connectivity/", include("portal.runs.urls")),
    path("audit/", include("portal.audit.urls")),
    path("configuration/", include("portal.configuration.urls")),
    path("relay/", include("portal.relay.urls")),
    path("grants/", include("portal.grants.urls")),
    path("integrations/", include("portal.integrations.urls")),
    path("ews-jobs/", include("portal.ewsjobs.urls")),
    path("", include("portal.core.urls")),
]
