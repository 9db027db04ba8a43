"""HTTP routes of the app: the REST API and the pages."""

from django.contrib.auth import views as auth_views
from django.urls import include, path

from ocpp_app.web import circuits, converters, landing, ops, records, views  # noqa: F401  (converters registers the "cid" path converter)

app_name = "ocpp"

urlpatterns = [
    path("health/", views.health, name="health"),  # liveness
    path("health/ready", ops.ready, name="health-ready"),  # readiness
    path("metrics", ops.metrics_text, name="metrics"),  # Prometheus
    path("", include("ocpp_app.api.urls")),  # REST API
    # Pages. Charger ids may hold spaces, '#', ':' or unicode but
    # never '/', hence <cid:cid>.
    path("", views.dashboard, name="dashboard"),
    # Log in and out for every role: the admin's own login takes staff only,
    # and viewers need not be staff (services/roles.py).
    path(
        "login/",
        auth_views.LoginView.as_view(template_name="ocpp/login.html", next_page="ocpp:dashboard"),
        name="login",
    ),
    path("logout/", auth_views.LogoutView.as_view(next_page="ocpp:login"), name="logout"),
    path("chargers/<cid:cid>/view/", views.charger_detail, name="charger-view"),
    path("chargers/<cid:cid>/view/chart/", views.charger_chart, name="charger-chart"),
    path("log/<cid:cid>/", views.message_log, name="log"),
    path("sessions/", views.sessions, name="sessions"),
    path("circuits/view/", circuits.circuit_list, name="circuits"),
    path("circuits/<int:pk>/view/", circuits.circuit_detail, name="circuit-view"),
    path("sessions/export.csv", views.sessions_csv, name="sessions-csv"),
    path("records/", records.records_index, name="records"),
    path("reservations/view/", records.reservations, name="reservations-view"),
    path("commands/view/", records.commands, name="commands-view"),
    path("commands/<int:pk>/view/", records.command, name="command-view"),
    path("charging-profiles/view/", records.charging_profiles, name="charging-profiles-view"),
    path("security-events/view/", records.security_events, name="security-events-view"),
    path("transactions/<int:pk>/view/", records.transaction, name="transaction-view"),
    path("chargers/<cid:cid>/view/status-history/", records.status_history, name="status-history-view"),
    # The driver's pages: a charger's, and one connector's (same names, one more argument).
    path("c/<cid:cid>/", landing.page, name="landing"),
    path("c/<cid:cid>/qr.png", landing.qr_png, name="qr-png"),
    path("c/<cid:cid>/qr.svg", landing.qr_svg, name="qr-svg"),
    path("c/<cid:cid>/<int:connector_id>/", landing.page, name="landing"),
    path("c/<cid:cid>/<int:connector_id>/qr.png", landing.qr_png, name="qr-png"),
    path("c/<cid:cid>/<int:connector_id>/qr.svg", landing.qr_svg, name="qr-svg"),
    path("firmware/<str:name>", views.firmware_download, name="firmware"),
]
