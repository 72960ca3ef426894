from django.urls import path

from enrollment import views

app_name = "enrollment"

urlpatterns = [
    path("", views.participant_list, name="list"),
    path("consent/<slug:number>/new/", views.consent_add, name="consent_add"),
    path("consent-forms/", views.consent_forms, name="consent_forms"),
    path("enrol/<slug:number>/", views.enrol, name="enrol"),
    path("<slug:subject_id>/status/", views.status_change, name="status"),
    path("<slug:subject_id>/withdraw/", views.withdraw, name="withdraw"),
    path("<slug:subject_id>/day-0/reschedule/", views.reschedule, name="reschedule"),
]
