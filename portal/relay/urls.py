from django.urls import path

from portal.relay import credentials, csvviews, testviews, views

app_name = "relay"
urlpatterns = [
    path("", views.client_list, name="list"),
    path("new/", views.client_create, name="create"),
    path("tiles/", views.readiness_tile, name="tiles"),
    path("export.csv", csvviews.export, name="export"),
    path("import/", csvviews.import_view, name="import"),
    path("<int:pk>/", views.client_detail, name="detail"),
    path("<int:pk>/edit/", views.client_edit, name="edit"),
    path("<int:pk>/delete/", views.client_delete, name="delete"),
    path("<int:pk>/credential/", credentials.credential_set, name="credential"),
    path("<int:pk>/credential/reveal/", credentials.credential_reveal, name="reveal"),
    path("<int:pk>/test/", testviews.test_send, name="test_send"),
    path("tests/<int:pk>/", testviews.test_detail, name="test"),
]
