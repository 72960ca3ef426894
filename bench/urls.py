"""The app's URLs plus the benchmark floor (bench settings only)."""

from django.urls import path

from bench import views
from trialsite.urls import urlpatterns as app_urlpatterns

urlpatterns = [path("bench/floor/", views.floor, name="bench_floor"), *app_urlpatterns]
