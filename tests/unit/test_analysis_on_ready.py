"""What a newly ready item is queued for."""

from __future__ import annotations

import pytest

from shared.domain.analysis import AnalysisOnReady, SystemSettings, Task
from shared.domain.media import MediaItem


class _Settings:
    def __init__(self, settings: SystemSettings) -> None:
        self.settings = settings

    def load(self) -> SystemSettings:
        return self.settings

    def save(self, settings: SystemSettings) -> None:
        self.settings = settings


class _Inbox:
    def __init__(self) -> None:
        self.requests: list[tuple[str, list[Task]]] = []

    def request(self, media_id: str, tasks: list[Task]) -> None:
        self.requests.append((media_id, tasks))


@pytest.mark.parametrize(("auto_describe", "tasks"), [(True, [Task.MODERATE, Task.DESCRIBE]), (False, [Task.MODERATE])])
def test_ready_items_are_always_moderated_and_described_when_the_admin_says_so(
    auto_describe: bool, tasks: list[Task]
) -> None:
    settings, inbox = _Settings(SystemSettings(auto_describe=auto_describe)), _Inbox()
    item = MediaItem(media_id="m1", owner_id="u1", filename="a.jpg", content_type="image/jpeg", size=1, object_key="k")
    AnalysisOnReady(settings, inbox)(item)
    assert inbox.requests == [("m1", tasks)]
