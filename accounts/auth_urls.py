"""Logging in and out, outside the ``accounts`` namespace (``{% url 'login' %}``)."""

from django.urls import path

from accounts import mfa_views

urlpatterns = [
    path("login/", mfa_views.LoginView.as_view(), name="login"),
    path("login/code/", mfa_views.login_code, name="login_code"),
    path("logout/", mfa_views.logout, name="logout"),
]
