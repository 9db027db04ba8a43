"""Certificates: what the CA issued (filters of the API and the admin) and
what a charger holds, for its page."""

from datetime import datetime

from django.db.models import QuerySet

from ocpp_app.models import Charger, Command, InstalledCertificate, IssuedCertificate
from ocpp_app.selectors.common import filter_given

# The commands whose outcome the charger page's certificate card lists.
CERTIFICATE_ACTIONS = (
    "CertificateSigned",
    "InstallCertificate",
    "DeleteCertificate",
    "GetInstalledCertificateIds",
    "ExtendedTriggerMessage",
)


def issued_certificates_filtered(
    *, charger_id: str | None = None, status: str | None = None, expires_before: datetime | None = None
) -> QuerySet[IssuedCertificate]:
    """Issued certificates, newest first; each filter only when given."""
    queryset = IssuedCertificate.objects.select_related("charger").defer("pem")
    queryset = filter_given(queryset, charger__charger_id=charger_id, status=status, not_after__lt=expires_before)
    return queryset.order_by("-id")


def charger_certificates(charger: Charger, *, limit: int = 20) -> dict:
    """A charger's certificates: issued by the CA, reported as installed, and
    its latest certificate commands (three queries)."""
    return {
        "issued": list(IssuedCertificate.objects.filter(charger=charger).defer("pem").order_by("-id")[:limit]),
        "installed": list(InstalledCertificate.objects.filter(charger=charger)),
        "commands": list(
            Command.objects.filter(charger=charger, action__in=CERTIFICATE_ACTIONS)
            .only("id", "action", "status", "response", "error_code", "created_at")
            .order_by("-id")[:limit]
        ),
    }
