"""The caller's own account, and account administration."""

from __future__ import annotations

from chalice.app import Blueprint

from functions.api.models.settings import HistorySearch, QuotaChange, Settings, SettingsHistory, SettingsUpdate
from functions.api.models.users import Account, RealmUserView, RoleChange, StatusChange, UserList, UserSearch
from functions.api.routing import current_user, route, services

bp = Blueprint(__name__)


@route(bp, "/me", response=Account)
def me() -> Account:
    """Who the vault thinks the caller is (the account is created on first sight of the token's subject)."""
    return Account.of(current_user())


@route(bp, "/admin/users/{user_id}/status", methods=("PUT",), body=StatusChange, response=Account, errors=(404, 409))
def set_user_status(user_id: str, body: StatusChange) -> Account:
    """Suspend or reactivate an account (admins only); an account being erased stays as it is (409)."""
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
    """The admin settings as stored now, with their version."""
    return Settings.of(services().settings_administration.current())


@route(bp, "/admin/settings", methods=("PUT",), body=SettingsUpdate, response=Settings, errors=(409,))
def put_settings_route(body: SettingsUpdate) -> Settings:
    """Change some settings, on the version last read (409 if another change came first); the change is recorded."""
    return _changed_settings(body)


@route(bp, "/admin/settings", methods=("PATCH",), body=SettingsUpdate, response=Settings, errors=(409,))
def patch_settings_route(body: SettingsUpdate) -> Settings:
    """Change some settings (as PUT: the fields sent, on the version last read; 409 if it is stale)."""
    return _changed_settings(body)


def _changed_settings(body: SettingsUpdate) -> Settings:
    admin = current_user()
    changed = services().settings_administration.change(admin.user_id, admin.username, body.version, body.values())
    return Settings.of(changed)


@route(bp, "/admin/settings/history", query=HistorySearch, response=SettingsHistory)
def settings_history_route(query: HistorySearch) -> SettingsHistory:
    """Every change of the settings, newest first: old and new values, who and when."""
    return SettingsHistory.of(services().settings_administration.history(query.limit, query.before_version))


@route(bp, "/admin/users/{user_id}/quota", methods=("PUT",), body=QuotaChange, response=Account, errors=(404,))
def set_user_quota(user_id: str, body: QuotaChange) -> Account:
    """Give an account its own storage quota, or (null) return it to the default quota (admins only)."""
    return Account.of(services().user_directory.set_quota(user_id, body.quota_bytes))
