"""Admin forms."""

from django import forms

from ocpp_app.admin.widgets import LatLngMapWidget
from ocpp_app.models import Charger
from ocpp_app.services.load import charger_load_errors


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
            "circuit",
            "phases",
            "phase",
            "min_current",
            "max_current",
            "load_priority",
        ]
        widgets = {"latitude": forms.NumberInput(attrs={"step": "0.000001"}), "longitude": LatLngMapWidget()}

    def clean(self):
        cleaned = super().clean()
        if (cleaned.get("latitude") is None) != (cleaned.get("longitude") is None):
            raise forms.ValidationError("Set both latitude and longitude, or neither.")
        return cleaned

    def _post_clean(self):
        # Its circuit and wiring, against the whole tree (services/load.py).
        super()._post_clean()
        if self.errors:
            return
        for field, messages in charger_load_errors(self.instance).items():
            for message in messages:
                self.add_error(field if field in self.fields else None, message)
