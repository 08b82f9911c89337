from django.urls import path

from portal.accounts import views

app_name = "accounts"
urlpatterns = [
    path("one-time/<str:token>/", views.one_time_login, name="one_time"),
    path("no-access/", views.no_access, name="no_access"),
    path("sessions/sign-out-everywhere/", views.logout_everywhere, name="logout_everywhere"),
    path("users/", views.user_list, name="users"),
    path("users/invite/", views.user_invite, name="invite"),
    path("users/<int:pk>/role/", views.user_role_change, name="user_role"),
    path("users/<int:pk>/active/", views.user_deactivate, name="user_active"),
]
urlpatterns += [path("security/", views.security, name="security")]
