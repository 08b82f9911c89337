from django.urls import path

from portal.ewsjobs import views, views_start

app_name = "ewsjobs"
urlpatterns = [
    path("", views.index, name="list"),
    path("new/", views.choose, name="choose"),
    path("new/<slug:kind>/", views_start.new_job, name="new"),
    path("<uuid:pk>/", views.detail, name="detail"),
    path("<uuid:pk>/results.csv", views.results_csv, name="results_csv"),
    path("<uuid:pk>/cancel/", views.cancel, name="cancel"),
    path("<uuid:pk>/retry/", views.retry, name="retry"),
    path("<uuid:pk>/run/", views_start.run_for_real, name="run"),
]
