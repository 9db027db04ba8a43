"""Who may see and who may change the network: the two roles of the operator
side, one rule for the pages, the dashboard's socket, the metrics and the
REST API.

- A **viewer** reads: an active, logged-in user holding
  `ocpp_app.view_network` (the "Viewers" group gives it). A viewer need not be
  staff: the admin is not for them.
- An **operator** also commands and changes: an active user holding
  `ocpp_app.operate_network` (the "Operators" group gives it, with every other
  permission of the app so the admin works for them too). Operating implies
  viewing.
- A superuser holds every permission, so is an operator.

Being staff grants neither: a staff member in neither group sees what a
stranger sees. Reading is what the safe HTTP methods do (GET, HEAD,
OPTIONS); every other method changes something and needs an operator.
"""

from enum import StrEnum

VIEW_PERMISSION = "ocpp_app.view_network"
OPERATE_PERMISSION = "ocpp_app.operate_network"
VIEWERS_GROUP = "Viewers"
OPERATORS_GROUP = "Operators"
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


class Role(StrEnum):
    VIEWER = "viewer"
    OPERATOR = "operator"


def _holds(user, permission: str) -> bool:
    # has_perm is False for an inactive user already; said here anyway, so
    # that a backend that forgets it cannot let one in.
    return bool(user is not None and user.is_authenticated and user.is_active and user.has_perm(permission))


def can_operate(user) -> bool:
    """Whether `user` may send commands and change the network."""
    return _holds(user, OPERATE_PERMISSION)


def can_view(user) -> bool:
    """Whether `user` may read the network's pages and the API."""
    return _holds(user, VIEW_PERMISSION) or can_operate(user)


def role_of(user) -> Role | None:
    """The user's role: operator, viewer, or None (sees nothing)."""
    if can_operate(user):
        return Role.OPERATOR
    if can_view(user):
        return Role.VIEWER
    return None


def role_needed(method: str) -> Role:
    """The role a request of this HTTP method needs."""
    return Role.VIEWER if method.upper() in SAFE_METHODS else Role.OPERATOR


def may(user, method: str) -> bool:
    """Whether `user` may make a request of this HTTP method."""
    return can_view(user) if role_needed(method) is Role.VIEWER else can_operate(user)


def refusal(role: Role) -> str:
    """What a refused user is told: the role that was missing."""
    if role is Role.VIEWER:
        return f"This needs the viewer role (the {VIEW_PERMISSION} permission, given by the {VIEWERS_GROUP} group)."
    return f"This needs the operator role (the {OPERATE_PERMISSION} permission, given by the {OPERATORS_GROUP} group)."
