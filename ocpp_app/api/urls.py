"""REST API routes, included by ocpp_app/urls.py under /ocpp/."""

from django.urls import path
from rest_framework.permissions import AllowAny

from ocpp_app.api import certificates, circuits, events, firmware, message_log, records, views, webhooks
from ocpp_app.api.schema import SchemaDocsView, SchemaView
from ocpp_app.web import converters  # noqa: F401  (the "cid" path converter)

urlpatterns = [
    path("chargers/", views.ChargerListView.as_view(), name="api-chargers"),
    path("chargers/<cid:cid>/", views.ChargerDetailView.as_view(), name="api-charger"),
    path("chargers/<cid:cid>/action/", views.ChargerActionView.as_view(), name="api-charger-action"),
    path("chargers/<cid:cid>/meter-readings/", views.MeterReadingListView.as_view(), name="api-meter-readings"),
    path("chargers/<cid:cid>/events/", events.ChargerEventListView.as_view(), name="api-charger-events"),
    path("chargers/<cid:cid>/messages/", message_log.ChargerMessageLogView.as_view(), name="api-charger-messages"),
    path("chargers/<cid:cid>/status-history/", records.StatusHistoryView.as_view(), name="api-status-history"),
    path("chargers/<cid:cid>/signed-firmware/", firmware.SignedFirmwareView.as_view(), name="api-signed-firmware"),
    path(
        "chargers/<cid:cid>/certificates/",
        certificates.ChargerCertificatesView.as_view(),
        name="api-charger-certificates",
    ),
    path(
        "chargers/<cid:cid>/certificates/renew/",
        certificates.ChargerCertificateRenewView.as_view(),
        name="api-charger-certificate-renew",
    ),
    path(
        "chargers/<cid:cid>/certificates/install/",
        certificates.ChargerCertificateInstallView.as_view(),
        name="api-charger-certificate-install",
    ),
    path("certificates/", certificates.IssuedCertificateListView.as_view(), name="api-certificates"),
    path("certificates/ca/", certificates.CAView.as_view(), name="api-certificate-ca"),
    path("certificates/<int:pk>/", certificates.IssuedCertificateDetailView.as_view(), name="api-certificate"),
    path(
        "certificates/<int:pk>/revoke/",
        certificates.IssuedCertificateRevokeView.as_view(),
        name="api-certificate-revoke",
    ),
    path("circuits/", circuits.CircuitListView.as_view(), name="api-circuits"),
    path("circuits/<int:pk>/", circuits.CircuitDetailView.as_view(), name="api-circuit"),
    path("rfids/", views.RFIDListView.as_view(), name="api-rfids"),
    path("rfids/<cid:id_tag>/", views.RFIDDetailView.as_view(), name="api-rfid"),
    path("transactions/", views.TransactionListView.as_view(), name="api-transactions"),
    path("transactions/export.csv", views.TransactionExportView.as_view(), name="api-transactions-export"),
    path("transactions/<int:pk>/", records.TransactionDetailView.as_view(), name="api-transaction"),
    path("reservations/", records.ReservationListView.as_view(), name="api-reservations"),
    path("reservations/<int:pk>/", records.ReservationDetailView.as_view(), name="api-reservation"),
    path("commands/", records.CommandListView.as_view(), name="api-commands"),
    path("commands/<int:pk>/", records.CommandDetailView.as_view(), name="api-command"),
    path("charging-profiles/", records.ChargingProfileListView.as_view(), name="api-charging-profiles"),
    path("security-events/", records.SecurityEventListView.as_view(), name="api-security-events"),
    path("webhooks/", webhooks.WebhookListView.as_view(), name="api-webhooks"),
    path("webhooks/<int:pk>/", webhooks.WebhookDetailView.as_view(), name="api-webhook"),
    path("webhooks/<int:pk>/deliveries/", webhooks.WebhookDeliveryListView.as_view(), name="api-webhook-deliveries"),
    path("webhooks/<int:pk>/ping/", webhooks.WebhookPingView.as_view(), name="api-webhook-ping"),
    # The schema and its Swagger UI (served from static files, no CDN) are
    # public: they describe the API, every operation still needs a role
    # (api/permissions.py).
    path("api/schema/", SchemaView.as_view(permission_classes=[AllowAny]), name="api-schema"),
    path(
        "api/docs/",
        SchemaDocsView.as_view(url_name="ocpp:api-schema", permission_classes=[AllowAny]),
        name="api-docs",
    ),
]
