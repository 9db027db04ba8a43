"""The REST API's permission (the default of every view, config/settings.py):
reading needs a viewer, everything else an operator (services/roles.py).

No credentials, or a wrong token, is a 401 (DRF's own rule, with the
`WWW-Authenticate` of the token scheme); a user without the role is a 403
whose `detail` names the role that was missing."""

from rest_framework.permissions import BasePermission

from ocpp_app.services import roles


class NetworkRole(BasePermission):
    """Safe methods (GET, HEAD, OPTIONS) for viewers, the rest for operators."""

    def has_permission(self, request, view) -> bool:
        if roles.may(request.user, request.method):
            return True
        # DRF builds one instance per request, so the message is this request's.
        self.message = roles.refusal(roles.role_needed(request.method))
        return False
