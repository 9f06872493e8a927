"""The caller's own account, and account administration."""

from __future__ import annotations

from chalice.app import Blueprint

from functions.api.models.settings import Settings, SettingsChange
from functions.api.models.users import Account, RealmUserView, RoleChange, StatusChange, UserList, UserSearch
from functions.api.routing import current_user, route, services

bp = Blueprint(__name__)


@route(bp, "/me", response=Account)
def me() -> Account:
    """Who the vault thinks the caller is (the account is created on first sight of the token's subject)."""
    return Account.of(current_user())


@route(bp, "/admin/users/{user_id}/status", methods=("PUT",), body=StatusChange, response=Account, errors=(404,))
def set_user_status(user_id: str, body: StatusChange) -> Account:
    """Suspend or reactivate an account (admins only)."""
    return Account.of(services().user_directory.set_status(user_id, body.status.value))


@route(bp, "/admin/users", query=UserSearch, response=UserList, errors=(503,))
def list_users(query: UserSearch) -> UserList:
    """Realm users with their vault account status (admins only)."""
    users = services().user_administration.list_users(query.search, query.first, query.max)
    return UserList(users=[RealmUserView.of(u) for u in users], first=query.first, max=query.max)


@route(bp, "/admin/users/{user_id}/role", methods=("PUT",), body=RoleChange, response=RealmUserView, errors=(404, 503))
def set_user_role(user_id: str, body: RoleChange) -> RealmUserView:
    """Give a user one vault role in the realm; it applies from their next token (admins only)."""
    summary = services().user_administration.change_role(user_id, body.role.value, body.partner_org)
    return RealmUserView.of(summary)


@route(bp, "/admin/settings", response=Settings)
def get_settings_route() -> Settings:
    """The pipeline's admin settings."""
    return Settings.of(services().settings_store.load())


@route(bp, "/admin/settings", methods=("PUT",), body=SettingsChange, response=Settings)
def put_settings_route(body: SettingsChange) -> Settings:
    """Change moderation_threshold (0..1) and/or auto_describe."""
    store = services().settings_store
    updated = body.applied_to(store.load())
    store.save(updated)
    return Settings.of(updated)
