"""The wiring seam: a container builds each part once, a given part is never built, Lazy builds once per process."""

from __future__ import annotations

import threading

import pytest

from functions.containers import Lazy
from functions.containers.api import ApiContainer
from shared.config import Settings


def test_a_part_is_built_once_and_shared_by_the_services_that_use_it() -> None:
    # Tables given: building the real repositories would bind the PynamoDB models to this test's settings.
    services = ApiContainer(Settings(), media_repository=object(), quota_ledger=object())
    assert services.media_library is services.media_library
    assert services.upload_service._storage is services.media_library._storage


def test_a_given_part_replaces_the_one_the_container_would_build() -> None:
    fake = object()
    assert ApiContainer(Settings(), user_administration=fake).user_administration is fake


def test_a_misspelt_part_is_refused() -> None:
    with pytest.raises(TypeError, match="no part named user_admin"):
        ApiContainer(Settings(), user_admin=object())


def test_lazy_builds_one_container_until_replaced() -> None:
    built: list[ApiContainer] = []

    def build() -> ApiContainer:
        built.append(ApiContainer(Settings()))
        return built[-1]

    entry_point = Lazy(build)
    start = threading.Barrier(4)

    def first_call() -> None:
        start.wait()
        entry_point()

    threads = [threading.Thread(target=first_call) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(built) == 1
    assert entry_point() is built[0]
    entry_point.replace(None)
    assert entry_point() is built[1]
