"""The Django admin: model admins, charger actions, the simulator launcher."""

from ocpp_app.admin import certificates, circuits, models, simulators, webhooks  # noqa: F401  (registers the model admins)
