"""What every table's adapter shares: binding a model to its table, and the one answer to a lost condition."""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterator
from contextlib import contextmanager

from pynamodb.connection import Connection
from pynamodb.exceptions import DeleteError, PutError, TransactWriteError, UpdateError
from pynamodb.models import Model
from pynamodb.transactions import TransactWrite

from shared.domain.errors import DomainError

# Why a transaction was cancelled when another writer decided the item first (TransactionConflict: a
# concurrent transaction on the same item; a retry would meet the winner's condition anyway).
_LOST_RACE = frozenset({"ConditionalCheckFailed", "TransactionConflict"})


def bind(model: type[Model], table_name: str, region: str) -> None:
    """Point a model at a table: PynamoDB binds at class level, so rebinding drops its cached connection."""
    if (model.Meta.table_name, model.Meta.region) != (table_name, region):
        model.Meta.table_name = table_name
        model.Meta.region = region
        model._connection = None


@functools.cache
def connection(region: str) -> Connection:
    """The region's one shared PynamoDB connection (its botocore client serves raw calls too)."""
    return Connection(region=region)


def transaction(region: str) -> TransactWrite:
    """A write transaction on the region's one shared connection: a Connection per transaction would build a new
    botocore client each time (~100 ms here, measured: it was most of a share's latency)."""
    return TransactWrite(connection=connection(region))


def _lost_condition(exc: PutError | UpdateError | DeleteError | TransactWriteError) -> bool:
    if isinstance(exc, TransactWriteError):
        reasons = exc.cancellation_reasons if exc.cause_response_code == "TransactionCanceledException" else []
        return any(reason is not None and reason.code in _LOST_RACE for reason in reasons)
    return exc.cause_response_code == "ConditionalCheckFailedException"


@contextmanager
def conditional_write(refusal: DomainError | Callable[[], DomainError]) -> Iterator[None]:
    """Every conditional write goes through here: a lost condition (a write's, or any in a transaction) becomes
    the domain's refusal; every other failure propagates. A callable refusal is built only once the write lost,
    for answers that must read the state that beat it."""
    try:
        yield
    except (PutError, UpdateError, DeleteError, TransactWriteError) as exc:
        if not _lost_condition(exc):
            raise
        raise (refusal() if callable(refusal) else refusal) from exc
