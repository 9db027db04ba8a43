"""Django validators for charger ids, RFID id tags and map positions,
attached to the model fields: model forms (the admin) and model serializers
(the REST API) pick them up from there. The id rules themselves are the pure
`*_problem` functions of lib/ids.py, which the WebSocket handshake (its own
BadChargerId) and the simulator use too; they are re-exported here."""

from decimal import Decimal

from django.core.exceptions import ValidationError

from ocpp_app.lib.ids import (  # noqa: F401  (re-exported: the models' and URLs' names)
    CHARGER_ID_MAX_LENGTH,
    CONTROL_CHARACTERS,
    ID_TAG_MAX_LENGTH,
    URL_ID_SEGMENT,
    charger_id_problem,
    id_tag_problem,
)


def validate_charger_id(value: str) -> None:
    if (problem := charger_id_problem(value)) is not None:
        raise ValidationError(_sentence(problem), code="invalid_charger_id")


def validate_id_tag(value: str) -> None:
    if (problem := id_tag_problem(value)) is not None:
        raise ValidationError(_sentence(problem), code="invalid_id_tag")


def validate_latitude(value: Decimal | float) -> None:
    if not -90 <= value <= 90:
        raise ValidationError("Latitude must be between -90 and 90.", code="invalid_latitude")


def validate_longitude(value: Decimal | float) -> None:
    if not -180 <= value <= 180:
        raise ValidationError("Longitude must be between -180 and 180.", code="invalid_longitude")


def _sentence(reason: str) -> str:
    return reason[0].upper() + reason[1:] + "."
