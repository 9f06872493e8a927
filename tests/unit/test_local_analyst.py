"""The analysis adapter hands providers the rendition as stored."""

from __future__ import annotations

import io
from typing import Any

from PIL import Image

from shared.adapters.analysis import LocalAnalyst
from shared.domain.media import MediaItem


class _Bedrock:
    """Records the Converse request and answers like the service."""

    def __init__(self) -> None:
        self.sent: dict[str, Any] = {}

    def converse(self, **kwargs: Any) -> dict[str, Any]:
        self.sent = kwargs
        return {
            "output": {"message": {"role": "assistant", "content": [{"text": "A logo on a plain background."}]}},
            "stopReason": "end_turn",
        }


def test_a_transparent_preview_reaches_bedrock_flattened_on_white() -> None:
    # Transparent pixels whose colour channels are black: a plain RGB conversion would show them black.
    logo = Image.new("RGBA", (200, 100), (0, 0, 0, 0))
    logo.paste((200, 30, 40, 255), (0, 0, 100, 100))
    preview = io.BytesIO()
    logo.save(preview, format="WEBP", lossless=True)
    bedrock = _Bedrock()
    analyst = LocalAnalyst(
        moderation_provider="none", description_provider="bedrock", bedrock=bedrock, bedrock_model_id="m"
    )
    item = MediaItem(
        media_id="m1", owner_id="u1", filename="logo.png", content_type="image/png", size=1, object_key="k"
    )
    description = analyst.describe(item, preview.getvalue(), threshold=0.6)
    assert description["text"] == "A logo on a plain background."
    jpeg = bedrock.sent["messages"][0]["content"][0]["image"]["source"]["bytes"]
    with Image.open(io.BytesIO(jpeg)) as sent:
        transparent_side = sent.convert("RGB").getpixel((150, 50))
        opaque_side = sent.convert("RGB").getpixel((50, 50))
    assert min(transparent_side) > 240, transparent_side  # type: ignore[arg-type]
    assert opaque_side[0] > 180 and opaque_side[1] < 60  # type: ignore[index]
