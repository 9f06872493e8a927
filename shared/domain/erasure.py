"""Erasure of a person's data (GDPR art. 17): the account stops acting at once, a maintenance job removes the rest.

The request (`DELETE /me`, or an admin's `DELETE /admin/users/{user_id}/data`) marks the account erased, which
every later request of its tokens is refused for, and queues an erase job; it answers 202 with the job's id. The
job is always a job, however small the library: deleting every version of every object and the rows of seven
tables does not fit a 29 s API Gateway request for a large library, and one path is one path to prove complete.

The job goes through phases in order, each a series of bounded pages, with its position in the job's cursor: a
step ends between pages and the next step resumes there. Every page deletes what it finds or rewrites it to the
same pseudonym, so a repeated page or a second job for the same person changes nothing more (idempotent).

Audit entries are kept (the log is evidence) with the person's id and name replaced by a pseudonym: an HMAC of
the id under a secret key, so every entry of one person carries the same pseudonym, and a name that says nothing
without the key. A tombstone keyed by the pseudonym (not the id) refuses tokens the realm still honours.
When the job finishes, its own record keeps only the pseudonym.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Callable
from typing import Protocol

from shared.domain.errors import NotFound, Unavailable
from shared.domain.jobs import PAGE_SECONDS, Job, JobKind, MaintenanceJobs, TimeLeft, decode_cursor, encode_cursor
from shared.domain.principal import Principal
from shared.domain.users import UserDirectory

PSEUDONYM_PREFIX = "erased-"


def pseudonym(key: bytes, user_id: str) -> str:
    """The stable stand-in for a person's id in what is kept (the audit log, the tombstone, the job record)."""
    digest = hmac.new(key, b"erasure:" + user_id.encode(), hashlib.sha256).hexdigest()
    return f"{PSEUDONYM_PREFIX}{digest[:32]}"


class PersonalData(Protocol):
    """The tables' side of an erasure: each call handles one bounded page and says where the next one starts."""

    def erase_page(self, phase: str, user_id: str, alias: str, cursor: str) -> tuple[int, str]:
        """Erase one page of the phase's rows for user_id (alias: their pseudonym); (rows handled, next cursor),
        the cursor "" when the phase is complete."""

    def is_tombstoned(self, alias: str) -> bool:
        """True when a person with this pseudonym was erased."""


class PersonalObjects(Protocol):
    """The bucket's side: every version and delete marker under a person's prefixes."""

    def erase_page(self, user_id: str) -> tuple[int, bool]:
        """Delete one page of object versions, delete markers and unfinished uploads of the person's prefixes;
        (objects removed, True when nothing is left)."""


class RealmAccounts(Protocol):
    """The identity provider's users."""

    def delete_user(self, user_id: str) -> None:
        """Delete the realm user (gone already is fine); Unavailable when administration is not configured."""


# Phases in order. Grants go first (nobody reaches the person's items through them any more), then what the grants
# pointed at, then what mentions the person; the realm user goes after the account; the audit log is rewritten last
# so entries written while the job ran (the erase request's own) are rewritten too.
TABLE_PHASES = ("grants", "albums", "media")
OBJECTS_PHASE = "objects"
LATE_PHASES = ("notifications", "counters", "jobs", "account")
REALM_PHASE = "realm"
AUDIT_PHASE = "audit"
PHASES = (*TABLE_PHASES, OBJECTS_PHASE, *LATE_PHASES, REALM_PHASE, AUDIT_PHASE)


class ErasureRequests:
    """What the API does at once: the account stops acting, and the job that erases the rest is queued."""

    def __init__(
        self,
        users: UserDirectory,
        jobs: MaintenanceJobs,
        data: PersonalData,
        alias: Callable[[str], str],
    ) -> None:
        self._users = users
        self._jobs = jobs
        self._data = data
        self._alias = alias

    def alias(self, user_id: str) -> str:
        """The person's pseudonym."""
        return self._alias(user_id)

    def erase_self(self, principal: Principal) -> Job:
        """The caller's own data; their realm user stays (it may serve other applications)."""
        self._users.mark_erased(principal.sub)
        # The job's record names nobody: its requester is the pseudonym too.
        return self._submit(principal.sub, requested_by=self._alias(principal.sub), realm=False)

    def erase_user(self, admin: Principal, user_id: str) -> Job:
        """An admin erases someone's data and their realm user; again, after it finished, finds nothing more."""
        try:
            self._users.mark_erased(user_id)
        except NotFound:
            if not self._data.is_tombstoned(self._alias(user_id)):
                raise
        return self._submit(user_id, requested_by=admin.sub, realm=True)

    def _submit(self, user_id: str, *, requested_by: str, realm: bool) -> Job:
        return self._jobs.submit(JobKind.ERASE, {"user_id": user_id, "realm": realm}, requested_by)


class Erasure:
    """The erase job's StepRunner."""

    def __init__(
        self,
        data: PersonalData,
        objects: PersonalObjects,
        realm: RealmAccounts | None,
        alias: Callable[[str], str],
    ) -> None:
        self._data = data
        self._objects = objects
        self._realm = realm
        self._alias = alias

    def __call__(self, job: Job, time_left: TimeLeft) -> bool:
        """Advance through the phases while time lasts; True when everything is erased."""
        user_id = str(job.params.get("user_id") or "")
        if not user_id:
            return True  # a finished job's record, delivered again: it names nobody any more
        alias = self._alias(user_id)
        position = decode_cursor(job.cursor)
        phase, page = position.get("phase", PHASES[0]), position.get("page", "")
        while time_left() > PAGE_SECONDS:
            handled, page = self._page(job, phase, user_id, alias, page)
            job.count(phase, handled)
            if not page:
                following = PHASES.index(phase) + 1
                if following == len(PHASES):
                    # Nothing of the person is left; the job's own record keeps only the pseudonym.
                    job.params = {"subject": alias, "realm": bool(job.params.get("realm"))}
                    job.cursor = ""
                    return True
                phase = PHASES[following]
            job.cursor = encode_cursor({"phase": phase, "page": page})
        return False

    def _page(self, job: Job, phase: str, user_id: str, alias: str, page: str) -> tuple[int, str]:
        if phase == OBJECTS_PHASE:
            removed, empty = self._objects.erase_page(user_id)
            return removed, "" if empty else "more"
        if phase == REALM_PHASE:
            return self._delete_realm_user(job, user_id), ""
        return self._data.erase_page(phase, user_id, alias, page)

    def _delete_realm_user(self, job: Job, user_id: str) -> int:
        if not job.params.get("realm") or self._realm is None:
            return 0
        try:
            self._realm.delete_user(user_id)
        except Unavailable as exc:
            # The vault's data is gone either way; an admin removes the realm user by hand (the job says so).
            job.note_error(f"realm user not deleted: {exc}")
            return 0
        return 1
