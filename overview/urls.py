"""The pages that span apps; their names are global (the navigation links them)."""

from django.urls import path

from overview import views

urlpatterns = [
    path("", views.home, name="dashboard"),
    path("search/", views.participant_search, name="search"),
    path("participants/<slug:subject_id>/", views.participant_detail, name="participant_detail"),
]
