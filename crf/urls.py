from django.urls import path

from crf import views

app_name = "crf"

urlpatterns = [
    path("visit/<int:pk>/", views.visit_detail, name="visit"),
    path("visit/<int:pk>/labs/", views.visit_labs, name="visit_labs"),
    path("visit/<int:pk>/<slug:kind>/", views.visit_form, name="visit_form"),
    path("visit/<int:pk>/<slug:kind>/void/", views.visit_crf_void, name="visit_form_void"),
    path("participant/<slug:subject_id>/adverse-events/", views.ae_list, name="ae_list"),
    path("participant/<slug:subject_id>/adverse-events/new/", views.ae_edit, name="ae_add"),
    path(
        "participant/<slug:subject_id>/adverse-events/<int:pk>/edit/",
        views.ae_edit,
        name="ae_edit",
    ),
    path("adverse-events/<int:pk>/", views.ae_detail, name="ae_detail"),
    path("adverse-events/<int:pk>/void/", views.ae_void, name="ae_void"),
    path("adverse-events/<int:pk>/follow-up/", views.ae_update_edit, name="ae_update_add"),
    path(
        "adverse-events/<int:pk>/follow-up/<int:update_pk>/",
        views.ae_update_edit,
        name="ae_update_edit",
    ),
    path(
        "adverse-events/<int:pk>/follow-up/<int:update_pk>/void/",
        views.ae_update_void,
        name="ae_update_void",
    ),
    path("alerts/<int:pk>/acknowledge/", views.alert_acknowledge, name="alert_acknowledge"),
    path("participant/<slug:subject_id>/con-meds/", views.con_med_list, name="con_meds"),
    path("participant/<slug:subject_id>/con-meds/new/", views.con_med_edit, name="con_med_add"),
    path(
        "participant/<slug:subject_id>/con-meds/<int:pk>/", views.con_med_edit, name="con_med_edit"
    ),
    path(
        "participant/<slug:subject_id>/con-meds/<int:pk>/void/",
        views.con_med_void,
        name="con_med_void",
    ),
    path("status/", views.form_status, name="form_status"),
    path("blank/", views.blank_crf_index, name="blank_index"),
    path("blank/<slug:visit_type>/", views.blank_crf, name="blank"),
    path("outcomes/", views.outcomes, name="outcomes"),
]
