from django.urls import path

from dosing import views

app_name = "dosing"

urlpatterns = [
    path("calendar/", views.month_calendar, name="calendar"),
    path("calendar/feed/", views.calendar_feed, name="feed"),
    path("calendar/feed/<str:token>.ics", views.calendar_feed_ics, name="feed_ics"),
    path("deviations/", views.deviation_list, name="deviations"),
    path("deviations/<int:pk>/", views.deviation_explain, name="deviation_explain"),
    path("deviations/<int:pk>/review/", views.deviation_review, name="deviation_review"),
    path("<slug:subject_id>/day-0/", views.day_0_confirm, name="day_0"),
    path("<slug:subject_id>/prescribe/", views.prescribe, name="prescribe"),
    path("<slug:subject_id>/dose-proposal/", views.dose_proposal, name="dose_proposal"),
    path(
        "<slug:subject_id>/prescriptions/<int:pk>/void/",
        views.prescription_void,
        name="prescription_void",
    ),
    path("<slug:subject_id>/infusion/", views.infusion_record, name="infusion"),
    path("<slug:subject_id>/b-cells/", views.b_cell_result_add, name="b_cells"),
    path("<slug:subject_id>/b-cells/<int:pk>/void/", views.b_cell_void, name="b_cell_void"),
    path("<slug:subject_id>/infusions/<int:pk>/", views.infusion_correct, name="infusion_correct"),
    path("<slug:subject_id>/gate-labs/<int:pk>/void/", views.gate_lab_void, name="gate_lab_void"),
    path("<slug:subject_id>/gate-labs/", views.gate_labs, name="gate_labs"),
    path(
        "<slug:subject_id>/gate-labs/discontinue/",
        views.gate_discontinue,
        name="gate_discontinue",
    ),
    path("<slug:subject_id>/visits/new/", views.visit_add, name="visit_add"),
    path("<slug:subject_id>/visits/<int:pk>/", views.visit_edit, name="visit_edit"),
    path("<slug:subject_id>/complete/", views.participant_complete, name="complete"),
    path("<slug:subject_id>/not-done/<slug:code>/", views.event_not_done, name="not_done"),
    path(
        "<slug:subject_id>/not-done/<int:pk>/void/",
        views.event_not_done_void,
        name="not_done_void",
    ),
    path(
        "<slug:subject_id>/deviations/",
        views.participant_deviations,
        name="participant_deviations",
    ),
    path("<slug:subject_id>/deviations/new/", views.deviation_add, name="deviation_add"),
]
