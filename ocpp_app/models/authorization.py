"""Who may charge: the RFID cards the central system knows, and the local
authorization list as last sent to each charger."""

from django.db import models
from django.utils import timezone

from ocpp_app.lib.validators import ID_TAG_MAX_LENGTH, validate_id_tag
from ocpp_app.models.chargers import Charger


class RFIDStatus(models.TextChoices):
    ACCEPTED = "Accepted"
    BLOCKED = "Blocked"
    EXPIRED = "Expired"
    INVALID = "Invalid"


class RFID(models.Model):
    id_tag = models.CharField(max_length=ID_TAG_MAX_LENGTH, unique=True, validators=[validate_id_tag])
    status = models.CharField(max_length=16, choices=RFIDStatus.choices, default=RFIDStatus.ACCEPTED)
    expiry_date = models.DateTimeField(null=True, blank=True)
    parent_id_tag = models.CharField(max_length=ID_TAG_MAX_LENGTH, blank=True, validators=[validate_id_tag])
    label = models.CharField(max_length=100, blank=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["id_tag"]
        verbose_name = "RFID card"

    def __str__(self) -> str:
        return self.id_tag


class LocalListEntry(models.Model):
    """The local authorization list as last sent to (and accepted by) a charger."""

    charger = models.ForeignKey(Charger, on_delete=models.CASCADE, related_name="local_list")
    id_tag = models.CharField(max_length=ID_TAG_MAX_LENGTH)
    status = models.CharField(max_length=16, blank=True)
    expiry_date = models.DateTimeField(null=True, blank=True)
    parent_id_tag = models.CharField(max_length=ID_TAG_MAX_LENGTH, blank=True)

    class Meta:
        ordering = ["id_tag"]
        verbose_name_plural = "local list entries"
        constraints = [models.UniqueConstraint(fields=["charger", "id_tag"], name="uniq_local_list_tag")]
