from django.urls import path

from portal.integrations import views

app_name = "integrations"
urlpatterns = [
    path("", views.index, name="index"),
    path("tiles/", views.tiles, name="tiles"),
    path("new/", views.create, name="create"),
    path("<int:pk>/", views.detail, name="detail"),
    path("<int:pk>/edit/", views.edit, name="edit"),
    path("<int:pk>/delete/", views.delete, name="delete"),
    path("<int:pk>/check/", views.check, name="check"),
    path("tenants/<int:pk>/", views.tenant_features, name="tenant"),
    path("tenants/<int:pk>/check/", views.check_tenant, name="check_tenant"),
]
