from django.urls import path

from eligibility import views

app_name = "eligibility"

urlpatterns = [
    path("", views.screening_log, name="log"),
    path("new/", views.screening_new, name="new"),
    path("<slug:number>/", views.screening_detail, name="detail"),
    path("<slug:number>/labs/", views.screening_labs, name="labs"),
    path("<slug:number>/therapy/new/", views.prior_therapy_edit, name="therapy_add"),
    path("<slug:number>/therapy/<int:pk>/", views.prior_therapy_edit, name="therapy_edit"),
    path("<slug:number>/therapy/<int:pk>/void/", views.prior_therapy_void, name="therapy_void"),
    path("<slug:number>/sign/", views.screening_sign, name="sign"),
    path("<slug:number>/screen-fail/", views.screening_fail, name="fail"),
    path("<slug:number>/<slug:section>/", views.screening_section, name="section"),
]
