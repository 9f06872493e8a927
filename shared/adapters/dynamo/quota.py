"""The quota ledger: one atomic counter per owner on the users table, checked in the same write."""

from __future__ import annotations

from pynamodb.transactions import TransactWrite

from shared.adapters.dynamo.conditions import bind, conditional_write
from shared.adapters.dynamo.users import UserModel
from shared.domain.errors import Conflict, QuotaExceeded


def release_within(write: TransactWrite, user_id: str, size: int) -> None:
    """Give size back as part of another aggregate's transaction (a record's delete), so both happen or neither."""
    counter = UserModel(user_id)
    write.update(counter, actions=[UserModel.reserved_bytes.add(-size)], condition=UserModel.user_id.exists())


def floor_at_zero(user_id: str) -> None:
    """After a transactional release: a counter that went below zero (it was out of step, e.g. records older
    than the ledger) is set back to zero. The transaction itself cannot floor it without refusing the delete."""
    try:
        with conditional_write(Conflict("the reservation is not negative")):
            UserModel(user_id).update(actions=[UserModel.reserved_bytes.set(0)], condition=UserModel.reserved_bytes < 0)
    except Conflict:
        pass  # the usual case: nothing to repair


class DynamoQuotaLedger:
    """QuotaLedger on the users table."""

    def __init__(self, table_name: str, region: str) -> None:
        bind(UserModel, table_name, region)

    def reserve(self, user_id: str, size: int, quota: int) -> None:
        """Add size unless the owner's reservation would pass quota (a conditional ADD: no race)."""
        room = quota - size
        if room < 0:
            raise QuotaExceeded(f"{size} bytes is more than the whole quota of {quota} bytes")

        def exceeded() -> QuotaExceeded:
            used = self._reserved(user_id)
            return QuotaExceeded(f"storage quota exceeded: {used} of {quota} bytes in use, {size} more requested")

        with conditional_write(exceeded):
            UserModel(user_id).update(
                actions=[UserModel.reserved_bytes.add(size)],
                condition=UserModel.user_id.exists()
                & (UserModel.reserved_bytes.does_not_exist() | (UserModel.reserved_bytes <= room)),
            )

    def release(self, user_id: str, size: int) -> None:
        """Give size back (never below zero)."""
        try:
            with conditional_write(Conflict("the reservation is smaller than the release")):
                UserModel(user_id).update(
                    actions=[UserModel.reserved_bytes.add(-size)],
                    condition=UserModel.user_id.exists() & (UserModel.reserved_bytes >= size),
                )
        except Conflict:
            # Out of step (e.g. items older than the ledger): clamp at zero rather than go negative.
            try:
                with conditional_write(Conflict(f"user {user_id} has no account")):
                    UserModel(user_id).update(
                        actions=[UserModel.reserved_bytes.set(0)], condition=UserModel.user_id.exists()
                    )
            except Conflict:
                pass  # no account, nothing reserved: nothing to give back

    @staticmethod
    def _reserved(user_id: str) -> int:
        try:
            return int(UserModel.get(user_id, consistent_read=True).reserved_bytes or 0)
        except UserModel.DoesNotExist:
            return 0
