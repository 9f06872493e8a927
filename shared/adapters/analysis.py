"""Analysis adapters: the SQS inbox, and moderation/description providers behind ContentAnalyst."""

from __future__ import annotations

import io
import json
from collections.abc import Callable
from functools import cached_property
from typing import TYPE_CHECKING, Any

from shared.domain.analysis import Task
from shared.domain.media import MediaItem

if TYPE_CHECKING:  # Pillow and the providers load lazily, on the analyzer's path only
    from shared.media.describe import Describer
    from shared.media.moderation import Moderator


class SqsAnalysisRequests:
    """AnalysisRequests on the analysis queue."""

    def __init__(self, client: Any, queue_url: str) -> None:
        self._sqs = client
        self._queue_url = queue_url

    def request(self, media_id: str, tasks: list[Task]) -> None:
        """Send one request message."""
        if self._queue_url:
            body = json.dumps({"media_id": media_id, "tasks": [t.value for t in tasks]})
            self._sqs.send_message(QueueUrl=self._queue_url, MessageBody=body)


class LocalAnalyst:
    """ContentAnalyst on the shipped NudeNet model (or Rekognition) and the offline (or Bedrock) describer."""

    def __init__(
        self,
        *,
        moderation_provider: str,
        description_provider: str | Callable[[], str],
        rekognition: Any = None,
        bedrock: Any = None,
        bedrock_model_id: str = "",
        bedrock_factory: Callable[[], Any] | None = None,
    ) -> None:
        self._moderation_provider = moderation_provider
        # A callable names the provider in force now (an admin setting); the Bedrock client is then made on first use.
        self._description_provider = (
            description_provider if callable(description_provider) else lambda: description_provider
        )
        self._rekognition = rekognition
        self._bedrock = bedrock
        self._bedrock_factory = bedrock_factory
        self._model_id = bedrock_model_id

    def _bedrock_client(self) -> Any:
        if self._bedrock is None and self._bedrock_factory is not None:
            self._bedrock = self._bedrock_factory()
        return self._bedrock

    @cached_property
    def _moderator(self) -> Moderator:
        # numpy/onnxruntime (ml layer) load here, once per container, only where moderation runs.
        from shared.media import moderation

        if self._moderation_provider == "rekognition":
            return moderation.RekognitionModerator(self._rekognition)
        return moderation.NudeNetModerator()

    def _describer(self, threshold: float) -> Describer:
        """Made per call (they are light): the threshold is the admin's current one."""
        from shared.media import describe

        offline = describe.OfflineDescriber(sensitive_threshold=threshold)
        if self._description_provider() == "bedrock":
            return describe.BedrockDescriber(
                self._bedrock_client(), self._model_id, sensitive_threshold=threshold, fallback=offline
            )
        return offline

    def moderate(self, image: bytes) -> dict[str, Any]:
        """Score a rendition."""
        from PIL import Image

        if self._moderation_provider == "none":
            return {"score": 0.0, "labels": [], "provider": "none", "model": ""}
        with Image.open(io.BytesIO(image)) as opened:
            # As stored: each moderator converts for its model (and a transparent preview keeps its alpha).
            result = self._moderator.moderate(opened)
        return {
            "score": round(float(result.score), 4),
            "labels": [[label, round(float(confidence), 4)] for label, confidence in result.labels],
            "provider": result.provider,
            "model": result.model_version,
        }

    def describe(self, item: MediaItem, image: bytes | None, threshold: float) -> dict[str, Any]:
        """A description from the item's facts (and the image, for Bedrock)."""
        from PIL import Image

        from shared.media.describe import MediaFacts

        facts = MediaFacts.from_item(item)
        if not image:
            return dict(self._describer(threshold).describe(facts, None).to_dict())
        with Image.open(io.BytesIO(image)) as picture:
            # As stored: Bedrock's JPEG flattens a transparent preview onto white, which a convert here would lose.
            return dict(self._describer(threshold).describe(facts, picture).to_dict())
