"""The users aggregate: vault accounts on the users table."""

from __future__ import annotations

from collections.abc import Collection, Iterator

from pynamodb.attributes import NumberAttribute, UnicodeAttribute, UTCDateTimeAttribute
from pynamodb.expressions.update import Action
from pynamodb.indexes import GlobalSecondaryIndex, KeysOnlyProjection
from pynamodb.models import Model

from shared.adapters.dynamo.conditions import bind, conditional_write
from shared.config import get_settings
from shared.domain.errors import Conflict, NotFound
from shared.domain.principal import Role
from shared.domain.users import User, UserStatus


class UsernameIndex(GlobalSecondaryIndex["UserModel"]):
    """Accounts by lower-cased username (sharing names its grantee): keys only, the account is re-read."""

    class Meta:
        index_name = "username-index"
        projection = KeysOnlyProjection()

    username_key = UnicodeAttribute(hash_key=True)


class EmailIndex(GlobalSecondaryIndex["UserModel"]):
    """Accounts by lower-cased email address (sparse: accounts without one are not in it)."""

    class Meta:
        index_name = "email-index"
        projection = KeysOnlyProjection()

    email_key = UnicodeAttribute(hash_key=True)


class OrgIndex(GlobalSecondaryIndex["UserModel"]):
    """Partners by organisation (sparse: only partners carry org_key)."""

    class Meta:
        index_name = "org-index"
        projection = KeysOnlyProjection()

    org_key = UnicodeAttribute(hash_key=True)
    user_id = UnicodeAttribute(range_key=True)


class UserModel(Model):
    """The users table (keys mirror infra/template.yaml; a test keeps them in step)."""

    class Meta:
        table_name = get_settings().users_table
        region = get_settings().region

    user_id = UnicodeAttribute(hash_key=True)
    username = UnicodeAttribute()
    email = UnicodeAttribute(default="")
    role = UnicodeAttribute()
    partner_org = UnicodeAttribute(default="")
    status = UnicodeAttribute()
    quota_bytes = NumberAttribute()
    # An admin's per-account quota; absent: the default quota (an admin setting) applies.
    quota_override_bytes = NumberAttribute(null=True)
    # The quota ledger's counter (shared/adapters/dynamo/quota.py): bytes of every stored version of the owner's items.
    reserved_bytes = NumberAttribute(default=0)
    created_at = UTCDateTimeAttribute()
    last_seen_at = UTCDateTimeAttribute()
    # Lookup keys: absent when empty (an index key cannot be ""), lower-cased so lookups ignore case.
    username_key = UnicodeAttribute(null=True)
    email_key = UnicodeAttribute(null=True)
    org_key = UnicodeAttribute(null=True)

    username_index = UsernameIndex()
    email_index = EmailIndex()
    org_index = OrgIndex()


def _lookup_key(value: str) -> str | None:
    return value.strip().lower() or None


def _set_or_remove(attribute: UnicodeAttribute, value: str | None) -> Action:
    return attribute.set(value) if value is not None else attribute.remove()


def _org_key(user: User) -> str | None:
    return user.partner_org or None if user.role is Role.PARTNER else None


def _to_user(model: UserModel) -> User:
    return User(
        user_id=model.user_id,
        username=model.username,
        email=model.email or "",
        role=Role(model.role),
        partner_org=model.partner_org or "",
        status=UserStatus(model.status),
        quota_bytes=int(model.quota_bytes),
        quota_override_bytes=int(model.quota_override_bytes) if model.quota_override_bytes is not None else None,
        created_at=model.created_at,
        last_seen_at=model.last_seen_at,
    )


class DynamoUserRepository:
    """UserRepository on the PynamoDB users table."""

    def __init__(self, table_name: str, region: str) -> None:
        bind(UserModel, table_name, region)

    def get(self, user_id: str) -> User | None:
        """The account, or None."""
        try:
            return _to_user(UserModel.get(user_id, consistent_read=True))
        except UserModel.DoesNotExist:
            return None

    def create(self, user: User) -> User:
        """Store a new account unless a concurrent request already did; return the stored one."""
        model = UserModel(
            user.user_id,
            username=user.username,
            email=user.email,
            role=user.role.value,
            partner_org=user.partner_org,
            status=user.status.value,
            quota_bytes=user.quota_bytes,
            created_at=user.created_at,
            last_seen_at=user.last_seen_at,
            username_key=_lookup_key(user.username),
            email_key=_lookup_key(user.email),
            org_key=_org_key(user),
        )
        try:
            with conditional_write(Conflict(f"user {user.user_id} already exists")):
                model.save(condition=UserModel.user_id.does_not_exist())
        except Conflict:
            existing = self.get(user.user_id)
            if existing is None:
                raise
            return existing
        return user

    def find_by_username(self, username: str) -> User | None:
        """The account with this username, read again consistently (an index lags its table)."""
        return self._found(UserModel.username_index, _lookup_key(username))

    def find_by_email(self, email: str) -> User | None:
        """The account with this email address."""
        return self._found(UserModel.email_index, _lookup_key(email))

    def _found(self, index: UsernameIndex | EmailIndex, key: str | None) -> User | None:
        if key is None:
            return None
        for entry in index.query(key, limit=1):
            return self.get(entry.user_id)
        return None

    def partners_of(self, org: str) -> Iterator[str]:
        """The ids of the organisation's partner accounts (the index lags the table by moments)."""
        for entry in UserModel.org_index.query(org):
            yield entry.user_id

    def usernames(self, user_ids: Collection[str]) -> dict[str, str]:
        """The usernames of these accounts, by id: one BatchGetItem (PynamoDB splits it at 100 keys)."""
        if not user_ids:
            return {}
        found = UserModel.batch_get(set(user_ids), attributes_to_get=["user_id", "username"])
        return {model.user_id: model.username for model in found}

    def save_profile(self, user: User) -> None:
        """Refresh the realm-owned fields and last-seen; status and quota stay as they are."""
        with conditional_write(NotFound("user not found")):
            UserModel(user.user_id).update(
                actions=[
                    UserModel.username.set(user.username),
                    UserModel.email.set(user.email),
                    UserModel.role.set(user.role.value),
                    UserModel.partner_org.set(user.partner_org),
                    UserModel.last_seen_at.set(user.last_seen_at),
                    _set_or_remove(UserModel.username_key, _lookup_key(user.username)),
                    _set_or_remove(UserModel.email_key, _lookup_key(user.email)),
                    _set_or_remove(UserModel.org_key, _org_key(user)),
                ],
                condition=UserModel.user_id.exists(),
            )

    def set_status(self, user_id: str, status: UserStatus) -> User:
        """Change the status of an existing account."""
        model = UserModel(user_id)
        with conditional_write(NotFound("user not found")):
            model.update(actions=[UserModel.status.set(status.value)], condition=UserModel.user_id.exists())
        return _to_user(model)

    def set_quota_override(self, user_id: str, quota_bytes: int | None) -> User:
        """Set or remove an existing account's own quota."""
        model = UserModel(user_id)
        action = (
            UserModel.quota_override_bytes.set(quota_bytes)
            if quota_bytes is not None
            else UserModel.quota_override_bytes.remove()
        )
        with conditional_write(NotFound("user not found")):
            model.update(actions=[action], condition=UserModel.user_id.exists())
        return _to_user(model)
