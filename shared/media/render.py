"""MediaRenderer on Pillow (photos) and PyAV (videos); the processor sees only MediaAnalysis."""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Any

from shared.domain.media import MediaKind
from shared.domain.ports import MediaAnalysis, RenditionFile
from shared.media.budget import time_budget_within
from shared.media.images import RenderedImage, render_image

# Probing and the poster come on top of a video's transcode budget.
VIDEO_OVERHEAD_S = 60


@dataclass(frozen=True)
class VideoLimits:
    """How much video the vault processes, and how long it may take."""

    max_duration_s: float = 600.0
    max_pixels: int = 7680 * 4320
    transcode_long_side: int = 1280
    time_budget_s: float = 300.0


class LocalRenderer:
    """Renders originals stored on local disk, each within a time budget."""

    def __init__(
        self,
        *,
        max_image_pixels: int,
        video: VideoLimits = VideoLimits(),
        image_budget_s: float = 60.0,
        image_threads: int = 1,
    ) -> None:
        self._max_pixels = max_image_pixels
        self._video = video
        self._image_budget = image_budget_s
        self._threads = image_threads

    def render(self, path: str, kind: MediaKind, workdir: str, time_limit_s: float | None = None) -> MediaAnalysis:
        """Metadata and renditions of a photo or a video, within its budget and the time_limit_s left."""
        if kind is MediaKind.VIDEO:
            # The transcode checks its own budget as it goes; the overhead covers probing and the poster.
            with time_budget_within(self._video.time_budget_s + VIDEO_OVERHEAD_S, time_limit_s):
                return self._render_video(path, workdir)
        with time_budget_within(self._image_budget, time_limit_s):
            return self._render_image(path)

    def _render_image(self, path: str) -> MediaAnalysis:
        result = render_image(path, max_pixels=self._max_pixels, threads=self._threads)
        facts: dict[str, Any] = result.metadata.to_dict()
        return MediaAnalysis(
            width=result.metadata.width,
            height=result.metadata.height,
            taken_at=result.metadata.taken_at or "",
            metadata=facts,
            renditions=_as_files(result.renditions),
            placeholder=result.placeholder,
            colors=tuple(result.colors),
        )

    def _render_video(self, path: str, workdir: str) -> MediaAnalysis:
        # PyAV lives in the video layer: imported only when a video is processed.
        from shared.media import video

        limits = self._video
        meta = video.probe(path, max_duration_s=limits.max_duration_s, max_pixels=limits.max_pixels)
        poster = video.representative_frame(path, max_px=1440)
        # The poster goes through the same photo pipeline, so a video gets a preview, thumbnail and placeholder.
        stills = render_image(poster, max_pixels=self._max_pixels, threads=self._threads)
        renditions = _as_files(stills.renditions, renamed={"preview": "poster"})
        facts: dict[str, Any] = {"video": meta.to_dict()}
        if video.needs_transcode(meta, max_long_side=limits.transcode_long_side):
            web_path = os.path.join(workdir, "web.mp4")
            web = video.transcode_to_mp4(
                path,
                web_path,
                max_long_side=limits.transcode_long_side,
                max_duration_s=limits.max_duration_s,
                max_pixels=limits.max_pixels,
                time_budget_s=limits.time_budget_s,
                source=meta,
            )
            web_size, facts["web"] = (web.width, web.height), web.to_dict()
        else:
            # Browsers play the original as it is: it is the web rendition too (a copy under renditions/), so
            # whoever may view the video can play it, as with a transcoded one, without the right to download it.
            web_path, web_size = path, (meta.width, meta.height)
            facts["web"] = {"width": meta.width, "height": meta.height, "source": "original"}
        renditions.append(
            RenditionFile(
                name="web",
                width=web_size[0],
                height=web_size[1],
                content_type="video/mp4",
                extension="mp4",
                path=web_path,
            )
        )
        return MediaAnalysis(
            width=meta.width,
            height=meta.height,
            taken_at="",
            metadata=facts,
            renditions=renditions,
            placeholder=stills.placeholder,
            colors=tuple(stills.colors),
        )


def _as_files(renditions: list[RenderedImage], renamed: dict[str, str] | None = None) -> list[RenditionFile]:
    """Encoded photo renditions as the processor stores them (optionally under other names)."""
    names = renamed or {}
    return [
        RenditionFile(
            name=names.get(r.name, r.name),
            width=r.width,
            height=r.height,
            content_type=r.content_type,
            extension=r.extension,
            data=r.data,
        )
        for r in renditions
    ]
