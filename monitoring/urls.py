from django.urls import path

from monitoring import views

app_name = "monitoring"

urlpatterns = [
    path("queries/", views.query_list, name="queries"),
    path(
        "queries/new/<slug:app_label>/<slug:model_name>/<int:pk>/",
        views.query_new,
        name="query_new",
    ),
    path("queries/<int:pk>/", views.query_detail, name="query"),
    path("queries/<int:pk>/answer/", views.query_answer, name="query_answer"),
    path("queries/<int:pk>/correct/", views.query_correct, name="query_correct"),
    path("queries/<int:pk>/close/", views.query_close, name="query_close"),
    path("queries/<int:pk>/reopen/", views.query_reopen, name="query_reopen"),
    path("quality/", views.data_quality, name="quality"),
    path("visits/<int:pk>/", views.visit_review, name="visit"),
    path("visits/<int:pk>/verify/", views.verify_visit, name="verify_visit"),
    path("visits/<int:pk>/lock/", views.lock_visit, name="lock_visit"),
    path("visits/<int:pk>/sign/", views.sign_visit, name="sign_visit"),
    path("participants/<slug:subject_id>/", views.participant_review, name="participant"),
    path("participants/<slug:subject_id>/lock/", views.lock_participant, name="lock_participant"),
    path("participants/<slug:subject_id>/sign/", views.sign_casebook, name="sign_casebook"),
    path(
        "records/<slug:app_label>/<slug:model_name>/<int:pk>/verify/",
        views.verify_record,
        name="verify",
    ),
    path(
        "records/<slug:app_label>/<slug:model_name>/<int:pk>/lock/",
        views.lock_record,
        name="lock_record",
    ),
    path("locks/<int:pk>/unlock/", views.unlock, name="unlock"),
]
