from django.urls import path

from portal.runs import views

app_name = "connectivity"
urlpatterns = [
    path("", views.overview, name="index"),
    path("tiles/", views.tiles, name="tiles"),
    path("adhoc/", views.adhoc, name="adhoc"),
    path("everything/", views.run_everything, name="everything"),
    path("runs/<int:run_id>/", views.run_detail, name="run"),
    path("runs/<int:run_id>/again/", views.run_again, name="run_again"),
    path("runs/<int:run_id>/download.json", views.run_download, name="run_download"),
    path("runs/<int:run_id>/ticket/", views.run_ticket, name="run_ticket"),
    path("tenants/<int:pk>/", views.tenant_panel, name="tenant_panel"),
    path("tenants/<int:pk>/run/", views.run_tenant_probe, name="run_tenant"),
    path("tenants/<int:pk>/run-all/", views.run_tenant_all, name="run_tenant_all"),
    path("tenants/<int:pk>/schedule/", views.schedule_save, name="schedule_save"),
    path("tenants/<int:pk>/history/<slug:probe>/", views.history, name="history"),
    path("schedules/<int:schedule_id>/delete/", views.schedule_delete, name="schedule_delete"),
]
