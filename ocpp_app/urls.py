"""HTTP routes of the app (pages and REST API are added by their issues)."""

from django.urls import path

from . import views

app_name = "ocpp"

urlpatterns = [
    path("health/", views.health, name="health"),
]
