"""Per-item time budget: a slow render is stopped with a reason, a quick one is untouched."""

from __future__ import annotations

import io
import threading
import time

import pytest
from PIL import Image

from shared.domain.errors import UnreadableMedia
from shared.domain.media import MediaKind
from shared.media.budget import BudgetExceeded, time_budget
from shared.media.render import LocalRenderer


def test_a_block_over_budget_is_interrupted_with_a_reason() -> None:
    with pytest.raises(BudgetExceeded, match=r"0\.05 s time budget"), time_budget(0.05):
        time.sleep(2)


def test_a_block_within_budget_runs_and_the_timer_is_cleared() -> None:
    with time_budget(1.0):
        pass
    time.sleep(1.2)  # no stray alarm fires after the block


def test_off_the_main_thread_the_block_runs_unbudgeted() -> None:
    finished: list[bool] = []

    def work() -> None:
        with time_budget(0.01):
            time.sleep(0.05)
        finished.append(True)

    thread = threading.Thread(target=work)
    thread.start()
    thread.join()
    assert finished == [True]


def test_a_large_progressive_jpeg_over_a_tiny_budget_fails_as_unreadable(tmp_path: object) -> None:
    out = io.BytesIO()
    Image.effect_noise((6000, 4000), 60).convert("RGB").save(out, format="JPEG", quality=90, progressive=True)
    path = f"{tmp_path}/big.jpg"
    with open(path, "wb") as file:
        file.write(out.getvalue())
    renderer = LocalRenderer(max_image_pixels=10**8, image_budget_s=0.02)
    with pytest.raises(UnreadableMedia, match="time budget"):
        renderer.render(path, MediaKind.IMAGE, str(tmp_path))
