from django.urls import path

from portal.grants import views, views_readiness

app_name = "grants"
urlpatterns = [
    path("", views.index, name="index"),
    path("request/", views.grant_request, name="request"),
    path("ews-retirement/", views_readiness.readiness_page, name="readiness"),
    path("ews-retirement/<int:pk>/", views_readiness.readiness_edit, name="readiness_edit"),
    path("tiles/", views_readiness.tiles, name="tiles"),
    path("<int:pk>/", views.grant_detail, name="detail"),
    path("verify/", views.verify_now, name="verify_all"),
    path("<int:pk>/verify/", views.verify_now, name="verify"),
    path("<int:pk>/script/", views.grant_script, name="script"),
    path("<int:pk>/script/download/", views.grant_script, {"download": True}, name="download"),
    path("<int:pk>/status/<slug:action>/", views.grant_transition, name="transition"),
    path("applications/new/", views.application_edit, name="application_create"),
    path("applications/<int:pk>/", views.application_detail, name="application"),
    path("applications/<int:pk>/edit/", views.application_edit, name="application_edit"),
]
