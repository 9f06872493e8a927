"""The caller's own account, and account administration."""

from __future__ import annotations

from typing import Any

from chalice.app import Blueprint

from functions import dependencies
from functions.api.routing import current_user, json_body, query_params, route
from shared.domain.analysis import SystemSettings
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


def _query(name: str) -> str | None:
    return query_params(bp).get(name)


def _int_param(name: str, default: int) -> int:
    raw = _query(name)
    if raw is None:
        return default
    try:
        return int(raw)
    except ValueError:
        raise ValidationError(f"{name} must be an integer") from None


@route(bp, "/admin/users")
def list_users() -> dict[str, Any]:
    """Realm users with their vault account status (admins only); `search`, `first`, `max`."""
    search = _query("search") or ""
    first, max_results = _int_param("first", 0), _int_param("max", 50)
    users = dependencies.user_administration().list_users(search, first, max_results)
    return {"users": users, "first": first, "max": max_results}


@route(bp, "/admin/users/{user_id}/role", methods=("PUT",))
def set_user_role(user_id: str) -> dict[str, Any]:
    """Give a user one vault role in the realm; it applies from their next token (admins only)."""
    body = json_body(bp)
    if not isinstance(body, dict) or "role" not in body or set(body) - {"role", "partner_org"}:
        raise ValidationError('the body must be {"role": ..., "partner_org"?: ...}')
    org = body.get("partner_org")
    if org is not None and not isinstance(org, str):
        raise ValidationError("partner_org must be a string")
    return dependencies.user_administration().change_role(user_id, str(body["role"]), org)


@route(bp, "/admin/settings")
def get_settings_route() -> dict[str, Any]:
    """The pipeline's admin settings."""
    return dependencies.settings_store().load().to_dict()


@route(bp, "/admin/settings", methods=("PUT",))
def put_settings_route() -> dict[str, Any]:
    """Change moderation_threshold (0..1) and/or auto_describe."""
    store = dependencies.settings_store()
    updated = SystemSettings.parse(json_body(bp), store.load())
    store.save(updated)
    return updated.to_dict()
