from django.urls import path

from accounts import mfa_views, views

app_name = "accounts"

urlpatterns = [
    path("users/", views.user_list, name="users"),
    path("users/invite/", views.user_invite, name="user_invite"),
    path("users/<int:pk>/", views.user_detail, name="user_detail"),
    path("users/<int:pk>/history/", views.user_history, name="user_history"),
    path("users/<int:pk>/role/", views.user_role, name="user_role"),
    path("users/<int:pk>/site/", views.user_site, name="user_site"),
    path("users/<int:pk>/password-reset/", views.user_password_reset, name="user_password_reset"),
    path("users/<int:pk>/deactivate/", views.user_deactivate, name="user_deactivate"),
    path("users/<int:pk>/mfa-reset/", views.user_mfa_reset, name="user_mfa_reset"),
    path("mfa/enrol/", mfa_views.mfa_enrol, name="mfa_enrol"),
    path("password/set/<uidb64>/<token>/", views.password_set, name="password_set"),
]
