"""Share link secrets and the password throttle's window."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

import pytest

from shared.domain.grants import Grantee, GranteeType, LinkTerms, grantees_of
from shared.domain.link_secrets import (
    TOKEN_PATTERN,
    hash_password,
    new_token,
    password_matches,
    spend_a_check,
    token_hash,
)
from shared.domain.links import FAILURE_LIMIT, FAILURE_WINDOW_SECONDS, locked_for
from shared.domain.principal import Principal, Role

NOW = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)


def test_tokens_are_long_url_safe_and_only_their_hash_is_kept() -> None:
    tokens = {new_token() for _ in range(50)}
    assert len(tokens) == 50
    assert all(re.fullmatch(TOKEN_PATTERN, token) for token in tokens)
    token = tokens.pop()
    assert token_hash(token) == token_hash(token)
    assert re.fullmatch(r"[0-9a-f]{64}", token_hash(token))
    assert token not in token_hash(token)


def test_a_token_never_starts_with_a_dash_so_a_shell_never_reads_it_as_an_option(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # GIVEN a random source whose first draws start with "-" (1 in 64 do)
    draws = iter(["-0mqDr6TprdJ" + "A" * 31, "-" + "B" * 42, "C" * 43])
    monkeypatch.setattr("shared.domain.link_secrets.secrets.token_urlsafe", lambda _n: next(draws))
    # WHEN a token is made, THEN it is the first draw that does not
    assert new_token() == "C" * 43


def test_passwords_are_salted_scrypt_hashes_that_check_only_the_right_password() -> None:
    first, second = hash_password("correct horse"), hash_password("correct horse")
    assert first != second  # a fresh salt each time
    assert first.startswith("scrypt$32768$8$1$")
    assert "correct horse" not in first
    assert password_matches("correct horse", first)
    assert password_matches("correct horse", second)
    assert not password_matches("correct hors", first)
    assert not password_matches("correct horse", "not-a-hash")
    spend_a_check("anything")  # the decoy check runs and matches nothing


def _terms(failed: int, since: datetime | None) -> LinkTerms:
    return LinkTerms(token_hash="h", password_hash="p", failed_attempts=failed, failed_since=since)


def test_a_link_locks_after_the_limit_until_its_window_ends() -> None:
    assert locked_for(_terms(0, None), NOW) == 0
    assert locked_for(_terms(FAILURE_LIMIT - 1, NOW), NOW) == 0
    assert locked_for(_terms(FAILURE_LIMIT, NOW), NOW) == FAILURE_WINDOW_SECONDS
    later = NOW + timedelta(seconds=FAILURE_WINDOW_SECONDS - 0.5)
    assert locked_for(_terms(FAILURE_LIMIT, NOW), later) == 1
    assert locked_for(_terms(FAILURE_LIMIT, NOW), NOW + timedelta(seconds=FAILURE_WINDOW_SECONDS)) == 0


def test_a_link_holder_acts_as_the_link_grantee_only_and_never_comes_from_a_token_context() -> None:
    holder = Principal.for_link("s1")
    assert holder.role is Role.USER and not holder.is_admin
    assert grantees_of(holder) == [Grantee(GranteeType.LINK, "s1")]
    assert "link_id" not in holder.to_context()
    assert Principal.from_context({**holder.to_context(), "link_id": "s1"}).link_id == ""


def test_link_terms_know_when_they_are_used_up() -> None:
    assert not LinkTerms(token_hash="h").used_up()
    assert not LinkTerms(token_hash="h", max_uses=2, uses=1).used_up()
    assert LinkTerms(token_hash="h", max_uses=2, uses=2).used_up()
