"""Encrypt the secrets still stored in clear (simulator keys written before
encryption at rest). Safe to run any time: encrypted values are left alone."""

from django.core.management.base import BaseCommand

from ocpp_app.services.simulators import simulator_secrets_encrypt


class Command(BaseCommand):
    help = "Encrypt simulator secrets still stored in clear (key: OCPP_SECRETS_KEY or DATA_DIR/secret.key)."

    def handle(self, *args, **options) -> None:
        updated = simulator_secrets_encrypt()
        self.stdout.write(f"{updated} simulator(s) had secrets encrypted")
