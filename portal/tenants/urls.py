from django.urls import path

from portal.tenants import views

app_name = "tenants"
urlpatterns = [
    path("", views.tenant_list, name="list"),
    path("new/", views.tenant_create, name="create"),
    path("<int:pk>/", views.tenant_detail, name="detail"),
    path("<int:pk>/edit/", views.tenant_edit, name="edit"),
    path("<int:pk>/delete/", views.tenant_delete, name="delete"),
]
