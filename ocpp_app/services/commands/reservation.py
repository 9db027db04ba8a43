"""Reservation commands. Reservation ids are unique across the network, and a
reservation lives until its expiry date (the charger frees the connector by
itself then; OCPP sends no message)."""

from datetime import datetime

from django.utils import timezone

from ocpp_app.models import Charger, Reservation, ReservationStatus
from ocpp_app.services.commands.base import BadCommand, OperatorCommand, check_id_tags, optional_datetime
from ocpp_app.services.common import clip

_HELD = [ReservationStatus.REQUESTED, ReservationStatus.ACCEPTED]


def reservations_expire(*, now: datetime | None = None) -> int:
    """Mark accepted reservations whose expiry date has passed as Expired."""
    return Reservation.objects.filter(status__in=_HELD, expiry_date__lte=now or timezone.now()).update(
        status=ReservationStatus.EXPIRED
    )


class ReserveNow(OperatorCommand):
    action = "ReserveNow"

    def check(self, charger: Charger, payload: dict) -> None:
        """A second charger may not take over a reservation id another charger
        still holds (its holder may renew it); its id tags follow the card rule."""
        check_id_tags(idTag=payload.get("idTag"), parentIdTag=payload.get("parentIdTag"))
        expiry = optional_datetime(payload.get("expiryDate"))
        if expiry is not None and expiry <= timezone.now():
            raise BadCommand("expiryDate: is in the past")
        reservation_id = payload.get("reservationId")
        if not isinstance(reservation_id, int):
            return
        held_elsewhere = (
            Reservation.objects.filter(reservation_id=reservation_id, status__in=_HELD, expiry_date__gt=timezone.now())
            .exclude(charger=charger)
            .exists()
        )
        if held_elsewhere:
            raise BadCommand(f"reservationId {reservation_id} is held by another charger")

    def apply(self, charger: Charger, request: dict, response: dict) -> None:
        """The reservation, with the charger's answer as its status (Accepted,
        Occupied, ...)."""
        reservations_expire()
        status = response.get("status")
        if status not in ReservationStatus.values:
            status = ReservationStatus.REJECTED
        Reservation.objects.update_or_create(
            reservation_id=request["reservationId"],
            defaults={
                "charger": charger,
                "connector_id": request["connectorId"],
                "id_tag": request["idTag"],
                "parent_id_tag": clip(request.get("parentIdTag"), 20),
                "expiry_date": optional_datetime(request.get("expiryDate")) or timezone.now(),
                "status": status,
                "transaction": None,
            },
        )


class CancelReservation(OperatorCommand):
    action = "CancelReservation"

    def apply(self, charger: Charger, request: dict, response: dict) -> None:
        if response.get("status") == "Accepted":
            Reservation.objects.filter(charger=charger, reservation_id=request["reservationId"]).update(
                status=ReservationStatus.CANCELLED
            )
