"""Admin forms."""

from django import forms

from ocpp_app.admin.widgets import LatLngMapWidget
from ocpp_app.models import Charger


class ChargerAdminForm(forms.ModelForm):
    """The charger id and position rules are the model fields' validators
    (lib/validators.py), shared with the API and the handshake; only the
    pairing of latitude and longitude is the form's own."""

    class Meta:
        model = Charger
        fields = [
            "charger_id",
            "name",
            "registration_status",
            "security_profile",
            "require_rfid",
            "latitude",
            "longitude",
            "config",
        ]
        widgets = {"latitude": forms.NumberInput(attrs={"step": "0.000001"}), "longitude": LatLngMapWidget()}

    def clean(self):
        cleaned = super().clean()
        if (cleaned.get("latitude") is None) != (cleaned.get("longitude") is None):
            raise forms.ValidationError("Set both latitude and longitude, or neither.")
        return cleaned
