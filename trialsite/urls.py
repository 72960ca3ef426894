"""URL map of the whole app."""

from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.contrib.auth.decorators import login_not_required
from django.urls import include, path
from django.views.i18n import set_language

from trialsite import views

auth_patterns = [
    path(
        "password/change/",
        views.PasswordChange.as_view(),
        name="password_change",
    ),
    path(
        "password/change/done/",
        auth_views.PasswordChangeDoneView.as_view(),
        name="password_change_done",
    ),
]

urlpatterns = [
    # Logging in and out (with the second factor): accounts/auth_urls.py.
    path("accounts/", include("accounts.auth_urls")),
    path("accounts/", include(auth_patterns)),
    path("accounts/", include("accounts.urls")),
    path(
        "history/<slug:app_label>/<slug:model_name>/<int:pk>/",
        views.record_history,
        name="record_history",
    ),
    path("screening/", include("eligibility.urls")),
    path("participants/", include("enrollment.urls")),
    # After enrollment's: its fixed paths (consent-forms/) win over a subject ID.
    path("", include("overview.urls")),
    path("dosing/", include("dosing.urls")),
    path("crf/", include("crf.urls")),
    path("exports/", include("exports.urls")),
    path("monitoring/", include("monitoring.urls")),
    path("notifications/", include("notifications.urls")),
    path("jobs/", views.job_list, name="jobs"),
    path("jobs/retry/", views.job_retry, name="job_retry"),
    path("healthz", views.healthz, name="healthz"),
    path("favicon.ico", views.favicon, name="favicon"),
    # The language switcher works on the login page too (LoginRequiredMiddleware).
    path("i18n/setlang/", login_not_required(set_language), name="set_language"),
    path("admin/", admin.site.urls),
]
