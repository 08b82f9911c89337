from django.urls import path

from portal.audit import views

app_name = "audit"
urlpatterns = [
    path("", views.event_list, name="list"),
    path("event/<int:seq>/", views.event_detail, name="detail"),
    path("export.<str:fmt>", views.event_export, name="export"),
]
