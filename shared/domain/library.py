"""Reading a principal's media: every access goes through the policy."""

from __future__ import annotations

from typing import Any

from shared.domain.media import MediaItem
from shared.domain.policy import Action, authorize
from shared.domain.ports import MediaRepository, ObjectStorage
from shared.domain.principal import Principal


class MediaLibrary:
    """Queries on media items, shaped for API responses."""

    def __init__(self, repository: MediaRepository, storage: ObjectStorage, *, url_ttl_seconds: int) -> None:
        self._repository = repository
        self._storage = storage
        self._ttl = url_ttl_seconds

    def get(self, principal: Principal, media_id: str) -> MediaItem:
        """The item if the principal may read it; NotFound otherwise."""
        return authorize(principal, Action.READ, self._repository.get(media_id))

    def describe(self, principal: Principal, media_id: str) -> dict[str, Any]:
        """The item as the API shows it, with short-lived rendition URLs."""
        item = self.get(principal, media_id)
        return {
            "media_id": item.media_id,
            "status": item.status.value,
            "filename": item.filename,
            "content_type": item.content_type,
            "size": item.size,
            "width": item.width or None,
            "height": item.height or None,
            "failure_reason": item.failure_reason or None,
            "created_at": item.created_at.isoformat(),
            "updated_at": item.updated_at.isoformat(),
            "renditions": {
                name: {
                    "url": self._storage.presign_get(r.key, self._ttl),
                    "width": r.width,
                    "height": r.height,
                    "content_type": r.content_type,
                }
                for name, r in item.renditions.items()
            },
        }
