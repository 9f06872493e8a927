"""Vault accounts: created on first sight of a token's subject, refused while suspended."""

from __future__ import annotations

from collections.abc import Callable, Collection, Iterator
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from enum import StrEnum
from typing import Protocol

from shared.domain.errors import Conflict, Forbidden, ValidationError
from shared.domain.principal import Principal, Role, role_from_claims


class UserStatus(StrEnum):
    """Whether an account may use the vault."""

    ACTIVE = "active"
    SUSPENDED = "suspended"
    # Being erased (shared/domain/erasure.py): refused like a suspended account, and never reactivated.
    ERASED = "erased"


@dataclass(frozen=True)
class User:
    """The vault's record of a realm user."""

    user_id: str
    username: str
    email: str
    role: Role
    partner_org: str = ""
    status: UserStatus = UserStatus.ACTIVE
    # What the account may store: its override if an admin set one, else the current default quota.
    quota_bytes: int = 0
    quota_override_bytes: int | None = None
    created_at: datetime = field(default_factory=lambda: datetime.now(UTC))
    last_seen_at: datetime = field(default_factory=lambda: datetime.now(UTC))


class UserRepository(Protocol):
    """Persistence of accounts."""

    def get(self, user_id: str) -> User | None:
        """The account, or None."""

    def create(self, user: User) -> User:
        """Store a new account; if one appeared meanwhile, return that one."""

    def find_by_username(self, username: str) -> User | None:
        """The account with this username (case-insensitive), or None."""

    def find_by_email(self, email: str) -> User | None:
        """The account with this email address (case-insensitive), or None."""

    def partners_of(self, org: str) -> Iterator[str]:
        """The ids of the organisation's partner accounts."""

    def usernames(self, user_ids: Collection[str]) -> dict[str, str]:
        """The usernames of these accounts, by id (ids with no account are left out)."""

    def save_profile(self, user: User) -> None:
        """Refresh username, email, role, org and last-seen (never status or quota)."""

    def set_status(self, user_id: str, status: UserStatus) -> User:
        """Change an account's status; NotFound if there is none."""

    def set_quota_override(self, user_id: str, quota_bytes: int | None) -> User:
        """Give an account its own quota (None: the default again); NotFound if there is none."""


class UserDirectory:
    """Admits principals as accounts and lets admins change their status."""

    def __init__(
        self,
        repository: UserRepository,
        *,
        default_quota_bytes: int | Callable[[], int],
        touch_interval: timedelta = timedelta(minutes=5),
        recheck_interval: timedelta = timedelta(seconds=30),
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
        erased: Callable[[str], bool] | None = None,
    ) -> None:
        self._repository = repository
        # Whether a subject with no account was erased: its tokens must not make it a new, empty account.
        self._erased = erased
        # A callable reads the admin's current default (the settings store caches it).
        self._default_quota = default_quota_bytes if callable(default_quota_bytes) else lambda: default_quota_bytes
        self._touch_interval = touch_interval
        self._recheck_interval = recheck_interval
        self._clock = clock
        # Accounts this container admitted recently: a busy caller costs no read per request. A suspension
        # made elsewhere applies within recheck_interval (the authorizer's own cache is 60 s on AWS).
        self._admitted: dict[str, tuple[datetime, User]] = {}

    def admit(self, principal: Principal) -> User:
        """The caller's account (created on first sight); Forbidden while it is suspended."""
        now = self._clock()
        recent = self._admitted.get(principal.sub)
        if recent and now - recent[0] < self._recheck_interval and _as_token_says(recent[1], principal) == recent[1]:
            return self._with_quota(_admissible(recent[1]))
        user = self._repository.get(principal.sub)
        if user is None and self._erased is not None and self._erased(principal.sub):
            raise Forbidden("this account was erased")
        if user is None:
            user = self._repository.create(
                User(
                    user_id=principal.sub,
                    username=principal.username,
                    email=principal.email,
                    role=principal.role,
                    partner_org=principal.partner_org,
                    quota_bytes=self._default_quota(),
                    created_at=now,
                    last_seen_at=now,
                )
            )
        if user.status is not UserStatus.ACTIVE:
            self._admitted[principal.sub] = (now, user)
            return _admissible(user)
        profile = _as_token_says(user, principal)
        # The realm is the source of truth for profile and role; write only when something changed
        # or last-seen is stale, so a busy user costs one read per request, not a write.
        if profile != user or now - user.last_seen_at >= self._touch_interval:
            profile = replace(profile, last_seen_at=now)
            self._repository.save_profile(profile)
        self._admitted[principal.sub] = (now, profile)
        return self._with_quota(profile)

    def _with_quota(self, user: User) -> User:
        """The account with the quota that applies to it now."""
        quota = user.quota_override_bytes if user.quota_override_bytes is not None else self._default_quota()
        return replace(user, quota_bytes=quota)

    def set_quota(self, user_id: str, quota_bytes: int | None) -> User:
        """Give an account its own quota, or (None) return it to the default quota."""
        if quota_bytes is not None and quota_bytes <= 0:
            raise ValidationError("quota_bytes must be above 0, or null for the default quota", field="quota_bytes")
        self._admitted.pop(user_id, None)
        return self._with_quota(self._repository.set_quota_override(user_id, quota_bytes))  # NotFound for no account

    def set_status(self, user_id: str, status: str) -> User:
        """Suspend or reactivate an account."""
        try:
            wanted = UserStatus(status)
        except ValueError as exc:
            raise ValidationError(
                f"status must be one of: {', '.join(s.value for s in UserStatus)}", field="status"
            ) from exc
        if wanted is UserStatus.ERASED:
            raise ValidationError("an account is erased through DELETE /admin/users/{user_id}/data", field="status")
        current = self._repository.get(user_id)
        if current is not None and current.status is UserStatus.ERASED:
            raise Conflict("this account is being erased")
        self._admitted.pop(user_id, None)
        return self._with_quota(self._repository.set_status(user_id, wanted))  # NotFound for no such account

    def mark_erased(self, user_id: str) -> User:
        """The first step of an erasure: the account refuses every request from now on; NotFound if none."""
        self._admitted.pop(user_id, None)
        return self._repository.set_status(user_id, UserStatus.ERASED)


def _as_token_says(user: User, principal: Principal) -> User:
    """The account with the realm-owned fields as the token states them (the realm is their source of truth)."""
    return replace(
        user,
        username=principal.username,
        email=principal.email,
        role=principal.role,
        partner_org=principal.partner_org,
    )


def _admissible(user: User) -> User:
    """The account, unless it is suspended."""
    if user.status is UserStatus.SUSPENDED:
        raise Forbidden("this account is suspended")
    if user.status is UserStatus.ERASED:
        raise Forbidden("this account was erased")
    return user


@dataclass(frozen=True)
class RealmUser:
    """A user as the identity provider (Keycloak) knows them."""

    user_id: str
    username: str
    email: str
    enabled: bool
    roles: tuple[str, ...]
    partner_org: str = ""

    @property
    def role(self) -> Role | None:
        """The strongest vault role among the realm roles."""
        return role_from_claims(list(self.roles))


@dataclass(frozen=True)
class UserSummary:
    """A realm user and their vault account (None until they first call the API)."""

    realm_user: RealmUser
    account: User | None


class IdentityDirectory(Protocol):
    """The identity provider's user administration."""

    def search_users(self, search: str, first: int, max_results: int) -> list[RealmUser]:
        """Users whose username, email or name matches search ('' for all), paged."""

    def get_user(self, user_id: str) -> RealmUser | None:
        """One user, or None."""

    def find_user(self, *, username: str | None = None, email: str | None = None) -> RealmUser | None:
        """The one user with exactly this username or email (case-insensitive), or None."""

    def set_role(self, user_id: str, role: Role, partner_org: str) -> RealmUser:
        """Make role the user's only vault role (and set or clear the partner organisation); NotFound if no user."""


class UserAdministration:
    """Admin view of users: the realm's users joined with their vault accounts."""

    def __init__(self, identity: IdentityDirectory, accounts: UserRepository) -> None:
        self._identity = identity
        self._accounts = accounts

    def _summary(self, realm_user: RealmUser) -> UserSummary:
        return UserSummary(realm_user, self._accounts.get(realm_user.user_id))

    def list_users(self, search: str, first: int, max_results: int) -> list[UserSummary]:
        """One page of users."""
        if first < 0 or not 1 <= max_results <= 100:
            raise ValidationError("first must be >= 0 and max between 1 and 100")
        return [self._summary(u) for u in self._identity.search_users(search, first, max_results)]

    def change_role(self, user_id: str, role: str, partner_org: str | None) -> UserSummary:
        """Give a user one vault role; partners need an organisation, and only partners have one."""
        try:
            wanted = Role(role)
        except ValueError as exc:
            raise ValidationError(f"role must be one of: {', '.join(r.value for r in Role)}", field="role") from exc
        org = (partner_org or "").strip()
        if wanted is Role.PARTNER and not org:
            raise ValidationError("a partner needs a partner_org", field="partner_org")
        if wanted is not Role.PARTNER and org:
            raise ValidationError("only partners have a partner_org", field="partner_org")
        return self._summary(self._identity.set_role(user_id, wanted, org))  # NotFound for no such user


class Newcomers:
    """Realm users who have not called the API yet, given their account when someone names them.

    Sharing names its grantee by username or email; a colleague who has a realm login but never opened the vault
    would otherwise be "not found". Their account is opened as their first sign-in would open it (role and
    organisation from the realm, the default quota), so a grant, its notification and their first sign-in agree.
    """

    def __init__(
        self,
        identity: IdentityDirectory,
        accounts: UserRepository,
        *,
        default_quota_bytes: Callable[[], int],
        erased: Callable[[str], bool] | None = None,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self._identity = identity
        self._accounts = accounts
        self._default_quota = default_quota_bytes
        self._erased = erased
        self._clock = clock

    def find(self, *, username: str | None = None, email: str | None = None) -> User | None:
        """The named realm user's account, opened now; None for nobody, a disabled user or one without a vault role."""
        found = self._identity.find_user(username=username, email=email)
        if found is None or not found.enabled or found.role is None:
            return None
        if self._erased is not None and self._erased(found.user_id):
            return None
        now = self._clock()
        return self._accounts.create(
            User(
                user_id=found.user_id,
                username=found.username,
                email=found.email,
                role=found.role,
                partner_org=found.partner_org if found.role is Role.PARTNER else "",
                quota_bytes=self._default_quota(),
                created_at=now,
                last_seen_at=now,
            )
        )
