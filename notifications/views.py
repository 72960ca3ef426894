"""Notification pages: your notifications, your preferences, the log (data managers)."""

from __future__ import annotations

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _

from notifications import selectors, services
from notifications.forms import LogFilterForm, PreferencesForm
from trialsite import access, query, roles
from trialsite.pagination import page_of


def notification_list(request: HttpRequest) -> HttpResponse:
    notifications = page_of(request, selectors.notifications_of(request.user))
    return render(request, "notifications/notification_list.html", {"notifications": notifications})


def preferences(request: HttpRequest) -> HttpResponse:
    current = selectors.preference_for(request.user)
    form = PreferencesForm(
        request.POST or None, initial={"language": current.language, "digest": current.digest}
    )
    if request.method == "POST" and form.is_valid():
        try:
            services.preference_save(user=request.user, **form.cleaned_data)
        except ValidationError as exc:
            form.add_error(None, exc)
        else:
            messages.success(request, _("Your notification preferences were saved."))
            return redirect("notifications:preferences")
    return render(request, "notifications/preferences.html", {"form": form})


def notification_log(request: HttpRequest) -> HttpResponse:
    access.require(request.user, roles.ALL_SITES)
    form = LogFilterForm(request.GET or None)
    filters = query.filter_form(request, form)
    log = page_of(request, selectors.notification_log(**filters))
    return render(request, "notifications/log.html", {"form": form, "log": log})
