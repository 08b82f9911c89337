from django.urls import path

from portal.configuration import views

app_name = "configuration"
urlpatterns = [
    path("", views.index, name="index"),
    path("export.yaml", views.download, name="export"),
    path("apply/", views.apply, name="apply"),
]
