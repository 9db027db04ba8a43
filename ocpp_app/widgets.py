"""A latitude/longitude map widget for the admin, drawn with django-leaflet's
template tags and assets (served locally from the package's static files).

It renders the latitude input plus a Leaflet map; the longitude input of the
same form is found by id. Click the map or drag the marker to set both.
Map tiles come from the internet; without them the marker, the clicks and the
dragging still work.
"""

from django import forms
from django.conf import settings
from django.template.loader import render_to_string
from django.utils.safestring import mark_safe


class LatLngMapWidget(forms.NumberInput):
    template_name = "ocpp/widgets/latlng_map.html"

    class Media:
        css = {"all": ["ocpp/latlng_widget.css"]}
        js = ["ocpp/latlng_widget.js"]

    def __init__(self, attrs=None, *, lng_field: str = "longitude"):
        super().__init__(attrs={"step": "0.000001", **(attrs or {})})
        self.lng_field = lng_field

    def get_context(self, name, value, attrs):
        context = super().get_context(name, value, attrs)
        widget_id = context["widget"]["attrs"].get("id") or f"id_{name}"
        prefix = name[: -len("latitude")] if name.endswith("latitude") else ""
        center = settings.LEAFLET_CONFIG.get("DEFAULT_CENTER", (25.6866, -100.3161))
        context["map"] = {
            "name": f"{widget_id}_map".replace("-", "_"),
            "lat_input": widget_id,
            "lng_input": f"id_{prefix}{self.lng_field}",
            "center_lat": center[0],
            "center_lng": center[1],
            "zoom": settings.LEAFLET_CONFIG.get("DEFAULT_ZOOM") or 12,
        }
        return context

    def render(self, name, value, attrs=None, renderer=None):
        # The project template engine, not the form renderer's: django-leaflet
        # is not an installed app, its tags are registered on TEMPLATES only.
        return mark_safe(render_to_string(self.template_name, self.get_context(name, value, attrs)))
