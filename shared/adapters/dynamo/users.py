"""The users aggregate: vault accounts on the users table."""

from __future__ import annotations

from pynamodb.attributes import NumberAttribute, UnicodeAttribute, UTCDateTimeAttribute
from pynamodb.models import Model

from shared.adapters.dynamo.conditions import bind, conditional_write
from shared.config import get_settings
from shared.domain.errors import Conflict, NotFound
from shared.domain.principal import Role
from shared.domain.users import User, UserStatus


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
    # The quota ledger's counter (shared/adapters/dynamo/quota.py): bytes of every stored version of the owner's items.
    reserved_bytes = NumberAttribute(default=0)
    created_at = UTCDateTimeAttribute()
    last_seen_at = UTCDateTimeAttribute()


def _to_user(model: UserModel) -> User:
    return User(
        user_id=model.user_id,
        username=model.username,
        email=model.email or "",
        role=Role(model.role),
        partner_org=model.partner_org or "",
        status=UserStatus(model.status),
        quota_bytes=int(model.quota_bytes),
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
                ],
                condition=UserModel.user_id.exists(),
            )

    def set_status(self, user_id: str, status: UserStatus) -> User:
        """Change the status of an existing account."""
        model = UserModel(user_id)
        with conditional_write(NotFound("user not found")):
            model.update(actions=[UserModel.status.set(status.value)], condition=UserModel.user_id.exists())
        return _to_user(model)
