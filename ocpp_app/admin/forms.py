"""Admin forms."""

from django import forms

from ocpp_app.admin.widgets import LatLngMapWidget
from ocpp_app.models import Charger
from ocpp_app.services.load import LOAD_FIELDS, charger_load_errors
from ocpp_app.services.secrets import InvalidPassword, password_validate


class ChargerAdminForm(forms.ModelForm):
    """The charger id and position rules are the model fields' validators
    (lib/validators.py), shared with the API and the handshake; only the
    pairing of latitude and longitude is the form's own. The Basic-auth
    password is write-only: never rendered, stored hashed by the admin's
    save (services/chargers.py)."""

    new_password = forms.CharField(
        required=False,
        strip=False,
        label="New Basic-auth password",
        widget=forms.PasswordInput(render_value=False, attrs={"autocomplete": "new-password"}),
        help_text="16-40 printable ASCII characters. Never shown; leave blank to keep the stored one.",
    )
    remove_password = forms.BooleanField(required=False, label="Remove the stored password")

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
            *LOAD_FIELDS,
        ]
        widgets = {"latitude": forms.NumberInput(attrs={"step": "0.000001"}), "longitude": LatLngMapWidget()}

    def clean(self):
        cleaned = super().clean()
        if (cleaned.get("latitude") is None) != (cleaned.get("longitude") is None):
            raise forms.ValidationError("Set both latitude and longitude, or neither.")
        password = cleaned.get("new_password")
        if password and cleaned.get("remove_password"):
            self.add_error("new_password", "Set a new password or remove the stored one, not both.")
        elif password:
            try:
                password_validate(password)
            except InvalidPassword as error:
                self.add_error("new_password", str(error))
        return cleaned

    def _post_clean(self):
        # Its circuit and wiring, against the whole tree (services/load.py).
        super()._post_clean()
        if self.errors:
            return
        for field, messages in charger_load_errors(self.instance).items():
            for message in messages:
                self.add_error(field if field in self.fields else None, message)
