"""URL path converter for charger ids and RFID id tags (pages and REST API)."""

from django.urls import register_converter

from ocpp_app.lib.validators import URL_ID_SEGMENT


class ChargerIdConverter:
    """Any one path segment that could name a charger or a card: spaces, '#',
    ':', unicode... The segment is not checked against the full id rules;
    the view looks it up and answers 404 for no such row. Only '/' (a path
    separator) and control characters are never matched: no id may hold
    them, and PostgreSQL refuses a NUL in a query (a 404, never a 500)."""

    regex = URL_ID_SEGMENT

    def to_python(self, value: str) -> str:
        return value

    def to_url(self, value: str) -> str:
        return value


register_converter(ChargerIdConverter, "cid")
