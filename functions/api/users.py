"""The caller's own account, and account administration."""

from __future__ import annotations

from typing import Any

from chalice.app import Blueprint

from functions import dependencies
from functions.api.routing import current_user, json_body, route
from shared.domain.errors import ValidationError

bp = Blueprint(__name__)


@route(bp, "/me")
def me() -> dict[str, Any]:
    """Who the vault thinks the caller is."""
    return current_user().to_view()


@route(bp, "/admin/users/{user_id}/status", methods=("PUT",))
def set_user_status(user_id: str) -> dict[str, Any]:
    """Suspend or reactivate an account (admins only)."""
    body = json_body(bp)
    if not isinstance(body, dict) or set(body) != {"status"}:
        raise ValidationError('the body must be {"status": "active" | "suspended"}')
    return dependencies.user_directory().set_status(user_id, str(body["status"])).to_view()
