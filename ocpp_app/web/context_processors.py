"""What every page's template knows of the user's role (services/roles.py):
`ocpp_can_view`, `ocpp_can_operate`, and `ocpp_role` ("viewer", "operator" or
None). A page hides the controls that change something unless
`ocpp_can_operate`; the API refuses them anyway."""

from ocpp_app.services import roles


def roles_context(request) -> dict:
    user = getattr(request, "user", None)
    # The permission lookups are cached on the user object: the page's own
    # check (views.operator_page) already paid for them.
    role = roles.role_of(user)
    return {
        "ocpp_can_view": role is not None,
        "ocpp_can_operate": role is roles.Role.OPERATOR,
        "ocpp_role": role.value if role else None,
    }
