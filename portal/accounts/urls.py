from django.urls import path

from portal.accounts import views

app_name = "accounts"
urlpatterns = [
    path("one-time/<str:token>/", views.one_time_login, name="one_time"),
]
