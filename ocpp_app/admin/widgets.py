"""A latitude/longitude map widget for the admin, drawn with django-leaflet's
template tags and assets (served locally from the package's static files).

It renders the longitude input plus a Leaflet map; the latitude input of the
same form is found by id. Click the map or drag the marker to set both.
Map tiles come from the internet; without them the marker, the clicks and the
dragging still work.
"""

from django import forms
from django.conf import settings
from django.template.loader import render_to_string
from django.utils.safestring import mark_safe


class LatLngMapWidget(forms.NumberInput):
    """The input of one coordinate (`field`, by default the longitude, so the
    map comes after both inputs) plus the map; the other coordinate's input
    (`other_field`) is found by id in the same form."""

    template_name = "ocpp/widgets/latlng_map.html"

    class Media:
        css = {"all": ["ocpp/latlng_widget.css"]}
        js = ["ocpp/latlng_widget.js"]

    def __init__(self, attrs=None, *, field: str = "longitude", other_field: str = "latitude"):
        super().__init__(attrs={"step": "0.000001", **(attrs or {})})
        self.field, self.other_field = field, other_field

    def get_context(self, name, value, attrs):
        context = super().get_context(name, value, attrs)
        widget_id = context["widget"]["attrs"].get("id") or f"id_{name}"
        prefix = name[: -len(self.field)] if name.endswith(self.field) else ""
        other_id = f"id_{prefix}{self.other_field}"
        lat_id, lng_id = (other_id, widget_id) if self.field == "longitude" else (widget_id, other_id)
        center = settings.LEAFLET_CONFIG.get("DEFAULT_CENTER", (25.6866, -100.3161))
        context["map"] = {
            "name": f"{widget_id}_map".replace("-", "_"),
            "lat_input": lat_id,
            "lng_input": lng_id,
            "center_lat": center[0],
            "center_lng": center[1],
            "zoom": settings.LEAFLET_CONFIG.get("DEFAULT_ZOOM") or 12,
            # django-leaflet's reset-view button zooms out to the whole world
            # (and its icon does not load): the marker is what matters here.
            "overrides": {"RESET_VIEW": False},
        }
        return context

    def render(self, name, value, attrs=None, renderer=None):
        # The project template engine, not the form renderer's: django-leaflet
        # is not an installed app, its tags are registered on TEMPLATES only.
        return mark_safe(render_to_string(self.template_name, self.get_context(name, value, attrs)))
