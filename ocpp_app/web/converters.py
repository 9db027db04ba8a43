"""URL path converter for charger ids (pages and REST API)."""

from django.urls import register_converter


class ChargerIdConverter:
    """Any charger id a charger may use: spaces, '#', ':', unicode... but no
    '/' (a path separator) and no control characters (never valid ids, and
    PostgreSQL refuses a NUL in a query: a 404, never a 500)."""

    regex = r"[^/\x00-\x1f\x7f]+"

    def to_python(self, value: str) -> str:
        return value

    def to_url(self, value: str) -> str:
        return value


register_converter(ChargerIdConverter, "cid")
