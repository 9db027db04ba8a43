"""Commands of the OCPP 1.6 Security extension: logs, signed firmware and
certificates. Nothing is kept from their answers; the status notifications
that follow GetLog and SignedUpdateFirmware are linked to the command
(services/notifications.py)."""

from ocpp_app.services.commands.base import OperatorCommand


class ExtendedTriggerMessage(OperatorCommand):
    action = "ExtendedTriggerMessage"


class GetLog(OperatorCommand):
    action = "GetLog"


class SignedUpdateFirmware(OperatorCommand):
    action = "SignedUpdateFirmware"


class InstallCertificate(OperatorCommand):
    action = "InstallCertificate"


class DeleteCertificate(OperatorCommand):
    action = "DeleteCertificate"


class GetInstalledCertificateIds(OperatorCommand):
    action = "GetInstalledCertificateIds"


class CertificateSigned(OperatorCommand):
    action = "CertificateSigned"
