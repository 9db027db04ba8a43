"""Certificates: what the central system's CA issued to chargers, and what
chargers report as installed."""

from django.db import models
from django.utils import timezone

from ocpp_app.models.chargers import Charger
from ocpp_app.models.logs import CertificateSigningRequest


class IssuedCertificateStatus(models.TextChoices):
    ISSUED = "issued"
    REVOKED = "revoked"


class RevokedCertificateSerial(models.Model):
    """A serial the CA revoked, kept on its own: deleting an issued
    certificate's row, or its charger, must never admit it again."""

    serial = models.CharField(max_length=40, unique=True, help_text="Serial number, lower-case hex")
    revoked_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-id"]

    def __str__(self) -> str:
        return self.serial


class IssuedCertificate(models.Model):
    """A charge point certificate signed by the central system's CA. Only the
    public certificate is kept: the charger's key never leaves the charger."""

    charger = models.ForeignKey(Charger, on_delete=models.CASCADE, related_name="issued_certificates")
    serial = models.CharField(max_length=40, unique=True, help_text="Serial number, lower-case hex")
    subject = models.CharField(max_length=512)
    not_before = models.DateTimeField()
    not_after = models.DateTimeField()
    status = models.CharField(
        max_length=10, choices=IssuedCertificateStatus.choices, default=IssuedCertificateStatus.ISSUED
    )
    pem = models.TextField(help_text="The public certificate (PEM)")
    csr = models.ForeignKey(
        CertificateSigningRequest, on_delete=models.SET_NULL, null=True, blank=True, related_name="issued"
    )
    created_at = models.DateTimeField(default=timezone.now)
    revoked_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-id"]
        indexes = [models.Index(fields=["charger", "-id"]), models.Index(fields=["not_after"])]

    def __str__(self) -> str:
        return f"{self.charger_id} {self.serial}"


class InstalledCertificate(models.Model):
    """A certificate a charger reported as installed (GetInstalledCertificateIds),
    or that it accepted through InstallCertificate, by its hash data."""

    charger = models.ForeignKey(Charger, on_delete=models.CASCADE, related_name="installed_certificates")
    certificate_type = models.CharField(max_length=40)
    hash_algorithm = models.CharField(max_length=10)
    issuer_name_hash = models.CharField(max_length=128)
    issuer_key_hash = models.CharField(max_length=128)
    serial_number = models.CharField(max_length=40)
    reported_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["certificate_type", "serial_number"]
        constraints = [
            models.UniqueConstraint(
                fields=["charger", "hash_algorithm", "issuer_name_hash", "issuer_key_hash", "serial_number"],
                name="installed_certificate_unique",
            )
        ]

    def __str__(self) -> str:
        return f"{self.charger_id} {self.certificate_type} {self.serial_number}"
