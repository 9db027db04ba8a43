"""Admin forms."""

from django import forms

from ocpp_app.admin.widgets import LatLngMapWidget
from ocpp_app.models import Charger


class ChargerAdminForm(forms.ModelForm):
    class Meta:
        model = Charger
        fields = ["charger_id", "name", "registration_status", "require_rfid", "latitude", "longitude", "config"]
        widgets = {"latitude": forms.NumberInput(attrs={"step": "0.000001"}), "longitude": LatLngMapWidget()}

    def clean_charger_id(self):
        value = (self.cleaned_data.get("charger_id") or "").strip()
        # The same rules as the handshake (OCPP-RULES.md): no '/', '\', control
        # characters or '..'; the id is part of every page's URL.
        if (
            not value
            or "/" in value
            or "\\" in value
            or ".." in value
            or any(ord(ch) < 0x20 or ord(ch) == 0x7F for ch in value)
        ):
            raise forms.ValidationError(
                "A charger id may not be empty or contain '/', '\\', '..' or control characters."
            )
        return value

    def clean_latitude(self):
        value = self.cleaned_data.get("latitude")
        if value is not None and not -90 <= value <= 90:
            raise forms.ValidationError("Latitude must be between -90 and 90.")
        return value

    def clean_longitude(self):
        value = self.cleaned_data.get("longitude")
        if value is not None and not -180 <= value <= 180:
            raise forms.ValidationError("Longitude must be between -180 and 180.")
        return value

    def clean(self):
        cleaned = super().clean()
        if (cleaned.get("latitude") is None) != (cleaned.get("longitude") is None):
            raise forms.ValidationError("Set both latitude and longitude, or neither.")
        return cleaned
