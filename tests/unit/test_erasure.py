"""The erase job's runner: phases in order, bounded steps that resume where they stopped, an anonymous record."""

from __future__ import annotations

from shared.domain.erasure import PHASES, Erasure, pseudonym
from shared.domain.errors import Unavailable
from shared.domain.jobs import PAGE_SECONDS, Job, JobKind, TimeLeft

KEY = b"test-key"


class PagedData:
    """Two pages per table phase; records the order pages were asked for."""

    def __init__(self) -> None:
        self.calls: list[tuple[str, str]] = []

    def erase_page(self, phase: str, user_id: str, alias: str, cursor: str) -> tuple[int, str]:
        assert user_id == "user-alice" and alias == pseudonym(KEY, "user-alice")
        self.calls.append((phase, cursor))
        return 3, "" if cursor else "page-2"

    def is_tombstoned(self, alias: str) -> bool:
        return False


class Objects:
    def __init__(self, pages: int) -> None:
        self.left = pages

    def erase_page(self, user_id: str) -> tuple[int, bool]:
        self.left -= 1
        return 1000, self.left <= 0


class Realm:
    def __init__(self, fails: bool = False) -> None:
        self.deleted: list[str] = []
        self.fails = fails

    def delete_user(self, user_id: str) -> None:
        if self.fails:
            raise Unavailable("identity administration is not configured")
        self.deleted.append(user_id)


def erase_job(realm: bool) -> Job:
    return Job(job_id="j1", kind=JobKind.ERASE, params={"user_id": "user-alice", "realm": realm}, requested_by="ada")


def pages_of(budget: int) -> TimeLeft:
    """A time budget that allows `budget` pages, then runs out."""
    left = [budget]

    def time_left() -> float:
        left[0] -= 1
        return PAGE_SECONDS + 1 if left[0] >= 0 else 0.0

    return time_left


def test_a_step_stops_between_pages_and_the_next_resumes_there() -> None:
    # GIVEN an erasure whose steps have time for three pages each
    data, objects, realm = PagedData(), Objects(pages=2), Realm()
    runner = Erasure(data, objects, realm, lambda user_id: pseudonym(KEY, user_id))
    job = erase_job(realm=True)

    # WHEN steps run until the job says it is complete
    steps = 0
    while not runner(job, pages_of(3)):
        steps += 1
        assert job.cursor, "an unfinished step leaves its position"
    # THEN every page of every phase ran once, in phase order, over several steps
    assert steps >= 3
    table_phases = [phase for phase in PHASES if phase not in ("objects", "realm")]
    assert data.calls == [(phase, cursor) for phase in table_phases for cursor in ("", "page-2")]
    assert objects.left == 0 and realm.deleted == ["user-alice"]
    # AND the finished record names only the pseudonym
    assert job.params == {"subject": pseudonym(KEY, "user-alice"), "realm": True} and job.cursor == ""
    assert job.counts["grants"] == 6 and job.counts["objects"] == 2000


def test_a_finished_job_delivered_again_does_nothing_and_a_missing_realm_admin_is_reported() -> None:
    data, realm = PagedData(), Realm(fails=True)
    runner = Erasure(data, Objects(pages=1), realm, lambda user_id: pseudonym(KEY, user_id))
    job = erase_job(realm=True)
    assert runner(job, lambda: 900.0)
    assert job.errors == ["realm user not deleted: identity administration is not configured"]
    calls = len(data.calls)
    assert runner(job, lambda: 900.0) and len(data.calls) == calls


def test_a_pseudonym_is_stable_keyed_and_names_nobody() -> None:
    alias = pseudonym(KEY, "user-alice")
    assert alias == pseudonym(KEY, "user-alice") != pseudonym(b"other-key", "user-alice")
    assert alias.startswith("erased-") and "alice" not in alias
