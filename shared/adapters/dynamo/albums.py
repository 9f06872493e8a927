"""The albums table: one partition per album, its `meta` row and one `item#<media_id>` row per member.

Members are read in order through position-index (a local index on the position key), an owner's albums through
owner-index (sparse: only meta rows carry owner_id). Every membership change writes the member row, the item's
album set in the media table and the album's count in one transaction, so the policy's view of an item's albums
never disagrees with the album.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime

from pynamodb.attributes import NumberAttribute, UnicodeAttribute, UTCDateTimeAttribute
from pynamodb.expressions.condition import size
from pynamodb.expressions.update import Action
from pynamodb.indexes import AllProjection, GlobalSecondaryIndex, LocalSecondaryIndex
from pynamodb.models import Model

from shared.adapters.cursors import CursorSigner
from shared.adapters.dynamo.conditions import bind, conditional_write, transaction
from shared.adapters.dynamo.media_model import MediaModel
from shared.config import get_settings
from shared.domain.albums import Album, AlbumChanges, AlbumPage, Member
from shared.domain.errors import Conflict, NotFound
from shared.domain.media import MediaItem
from shared.domain.policy import MAX_ALBUMS_PER_ITEM

_META = "meta"
_MEMBER = "item#"
_BATCH_GET_KEYS = 100
_OWNED_CURSOR = frozenset({"pk", "sk", "owner_id", "created_sort"})
_MEMBERS_CURSOR = frozenset({"pk", "sk", "position"})
_CHANGED = "the album changed since the version the change was based on"


class OwnerIndex(GlobalSecondaryIndex["AlbumModel"]):
    """An owner's albums, newest first."""

    class Meta:
        index_name = "owner-index"
        projection = AllProjection()

    owner_id = UnicodeAttribute(hash_key=True)
    created_sort = UnicodeAttribute(range_key=True)


class PositionIndex(LocalSecondaryIndex["AlbumModel"]):
    """An album's members in order (sparse: only member rows carry a position)."""

    class Meta:
        index_name = "position-index"
        projection = AllProjection()

    pk = UnicodeAttribute(hash_key=True)
    position = UnicodeAttribute(range_key=True)


class AlbumModel(Model):
    """The albums table (keys mirror infra/template.yaml; a test keeps them in step)."""

    class Meta:
        table_name = get_settings().albums_table
        region = get_settings().region

    pk = UnicodeAttribute(hash_key=True)  # "album#<album_id>"
    sk = UnicodeAttribute(range_key=True)  # "meta" | "item#<media_id>"
    album_id = UnicodeAttribute()
    # Meta rows.
    owner_id = UnicodeAttribute(null=True)
    created_sort = UnicodeAttribute(null=True)
    title = UnicodeAttribute(null=True)
    description = UnicodeAttribute(null=True)
    cover_media_id = UnicodeAttribute(null=True)
    item_count = NumberAttribute(null=True)
    revision = NumberAttribute(null=True)
    created_at = UTCDateTimeAttribute(null=True)
    updated_at = UTCDateTimeAttribute(null=True)
    # Member rows.
    media_id = UnicodeAttribute(null=True)
    position = UnicodeAttribute(null=True)

    owner_index = OwnerIndex()
    position_index = PositionIndex()


def _pk(album_id: str) -> str:
    return f"album#{album_id}"


def _to_album(model: AlbumModel) -> Album:
    return Album(
        album_id=model.album_id,
        owner_id=model.owner_id or "",
        title=model.title or "",
        created_at=model.created_at or datetime.now(UTC),
        updated_at=model.updated_at or datetime.now(UTC),
        description=model.description or "",
        cover_media_id=model.cover_media_id or "",
        item_count=int(model.item_count or 0),
        revision=int(model.revision or 0),
    )


def _to_member(model: AlbumModel) -> Member:
    return Member(model.media_id or model.sk.removeprefix(_MEMBER), model.position or "")


class DynamoAlbumRepository:
    """AlbumRepository on the PynamoDB albums table (and the media table, for each item's album set)."""

    def __init__(self, table_name: str, media_table: str, region: str, *, cursor_key: str = "") -> None:
        bind(AlbumModel, table_name, region)
        bind(MediaModel, media_table, region)
        self._region = region
        self._cursor_key = cursor_key

    def create(self, album: Album) -> None:
        """Store a new album (ids are fresh UUIDs: an existing one is a Conflict)."""
        model = AlbumModel(
            _pk(album.album_id),
            _META,
            album_id=album.album_id,
            owner_id=album.owner_id,
            created_sort=f"{album.created_at.isoformat()}#{album.album_id}",
            title=album.title,
            description=album.description,
            cover_media_id=album.cover_media_id or None,
            item_count=album.item_count,
            revision=album.revision,
            created_at=album.created_at,
            updated_at=album.updated_at,
        )
        with conditional_write(Conflict(f"album {album.album_id} already exists")):
            model.save(condition=AlbumModel.pk.does_not_exist())

    def get(self, album_id: str) -> Album | None:
        """The album, read consistently."""
        try:
            return _to_album(AlbumModel.get(_pk(album_id), _META, consistent_read=True))
        except AlbumModel.DoesNotExist:
            return None

    def get_many(self, album_ids: list[str]) -> dict[str, Album]:
        """The albums that exist among album_ids (BatchGetItem, 100 keys a call)."""
        keys = [(_pk(album_id), _META) for album_id in dict.fromkeys(album_ids)]
        found: dict[str, Album] = {}
        for start in range(0, len(keys), _BATCH_GET_KEYS):
            for model in AlbumModel.batch_get(keys[start : start + _BATCH_GET_KEYS], consistent_read=True):
                found[model.album_id] = _to_album(model)
        return found

    def list_owned(self, owner_id: str, limit: int, cursor: str | None) -> AlbumPage:
        """One page of the owner's albums, newest first; the cursor is the index position, signed for them."""
        scope = f"albums-of:{owner_id}"
        start = self._signer().open(cursor, scope, _OWNED_CURSOR) if cursor else None
        results = AlbumModel.owner_index.query(
            owner_id, scan_index_forward=False, limit=limit, last_evaluated_key=start
        )
        albums = [_to_album(model) for model in results]
        position = results.last_evaluated_key
        return AlbumPage(albums, self._signer().sign(dict(position), scope) if position else None)

    def update(self, album: Album, changes: AlbumChanges) -> Album:
        """Apply the changes at album.revision; a new cover must still be a member when they are written."""
        actions: list[Action] = [AlbumModel.revision.add(1), AlbumModel.updated_at.set(datetime.now(UTC))]
        if changes.title is not None:
            actions.append(AlbumModel.title.set(changes.title))
        if changes.description is not None:
            actions.append(AlbumModel.description.set(changes.description))
        if changes.cover_media_id is not None:
            cover = changes.cover_media_id
            actions.append(AlbumModel.cover_media_id.set(cover) if cover else AlbumModel.cover_media_id.remove())
        meta = AlbumModel(_pk(album.album_id), _META)
        current = AlbumModel.revision == album.revision
        with conditional_write(Conflict(_CHANGED)), transaction(self._region) as write:
            write.update(meta, actions=actions, condition=current)
            if changes.cover_media_id:
                member = _MEMBER + changes.cover_media_id
                write.condition_check(AlbumModel, meta.pk, member, condition=AlbumModel.sk.exists())
        return self._current(album.album_id)

    def member(self, album_id: str, media_id: str) -> Member | None:
        """The membership, read consistently."""
        try:
            return _to_member(AlbumModel.get(_pk(album_id), _MEMBER + media_id, consistent_read=True))
        except AlbumModel.DoesNotExist:
            return None

    def following(self, album_id: str, position: str | None, limit: int) -> list[Member]:
        """The first members after position, in order."""
        after = AlbumModel.position > position if position is not None else None
        entries = AlbumModel.position_index.query(
            _pk(album_id), range_key_condition=after, limit=limit, consistent_read=True
        )
        return [_to_member(model) for model in entries]

    def last(self, album_id: str) -> Member | None:
        """The last member."""
        entries = AlbumModel.position_index.query(
            _pk(album_id), scan_index_forward=False, limit=1, consistent_read=True
        )
        return next((_to_member(model) for model in entries), None)

    def members(self, album_id: str, cursor: str | None, scope: str) -> Iterator[tuple[Member, str]]:
        """Every member in order, each with the signed index position after it."""
        start = self._signer().open(cursor, scope, _MEMBERS_CURSOR) if cursor else None
        for model in AlbumModel.position_index.query(_pk(album_id), last_evaluated_key=start, consistent_read=True):
            position = {name: {"S": getattr(model, name)} for name in _MEMBERS_CURSOR}
            yield _to_member(model), self._signer().sign(position, scope)

    def add(self, album: Album, item: MediaItem, position: str) -> None:
        """Membership row, the item's album set and the album's count in one transaction."""
        pk = _pk(album.album_id)
        member = AlbumModel(pk, _MEMBER + item.media_id, album_id=album.album_id, media_id=item.media_id)
        member.position = position
        room = MediaModel.album_ids.does_not_exist() | (size(MediaModel.album_ids) < MAX_ALBUMS_PER_ITEM)
        owned = (MediaModel.owner_id == album.owner_id) & MediaModel.trashed_at.does_not_exist()
        refusal = Conflict("the album or the item changed while it was being added; try again")
        with conditional_write(refusal), transaction(self._region) as write:
            write.save(member, condition=AlbumModel.sk.does_not_exist())
            write.update(
                MediaModel(item.media_id), actions=[MediaModel.album_ids.add({album.album_id})], condition=owned & room
            )
            write.update(AlbumModel(pk, _META), actions=self._counted(1), condition=AlbumModel.sk.exists())

    def remove(self, album: Album, media_id: str) -> None:
        """End the membership with the item's album set and the count; then clear the cover if it was the item."""
        pk = _pk(album.album_id)
        try:
            with (
                conditional_write(NotFound("media not found in this album")),
                transaction(self._region) as write,
            ):
                write.delete(AlbumModel(pk, _MEMBER + media_id), condition=AlbumModel.sk.exists())
                write.update(
                    MediaModel(media_id),
                    actions=[MediaModel.album_ids.delete({album.album_id})],
                    condition=MediaModel.media_id.exists(),
                )
                write.update(AlbumModel(pk, _META), actions=self._counted(-1), condition=AlbumModel.sk.exists())
        except NotFound:
            # An item purged by a process that could not reach this table leaves its membership: drop that alone.
            if MediaModel.count(media_id, consistent_read=True) or not self._drop(album.album_id, media_id):
                raise
        self._clear_cover(album.album_id, media_id)

    def move(self, album: Album, media_id: str, position: str) -> Album:
        """The member's new position, if nobody changed the album since album.revision."""
        pk = _pk(album.album_id)
        with conditional_write(Conflict(_CHANGED)), transaction(self._region) as write:
            write.update(
                AlbumModel(pk, _MEMBER + media_id),
                actions=[AlbumModel.position.set(position)],
                condition=AlbumModel.sk.exists(),
            )
            write.update(
                AlbumModel(pk, _META),
                actions=[AlbumModel.revision.add(1), AlbumModel.updated_at.set(datetime.now(UTC))],
                condition=AlbumModel.revision == album.revision,
            )
        return self._current(album.album_id)

    def delete(self, album: Album) -> None:
        """Delete the meta row once no member is left (gone already is fine)."""
        empty = AlbumModel.item_count.does_not_exist() | (AlbumModel.item_count == 0)
        with conditional_write(Conflict("the album still has items")):
            AlbumModel(_pk(album.album_id), _META).delete(condition=empty)

    def forget_item(self, item: MediaItem) -> None:
        """Drop the memberships of an item whose record was purged."""
        for album_id in sorted(item.album_ids):
            if self._drop(album_id, item.media_id):
                self._clear_cover(album_id, item.media_id)

    def _drop(self, album_id: str, media_id: str) -> bool:
        pk = _pk(album_id)
        try:
            with (
                conditional_write(NotFound("gone")),
                transaction(self._region) as write,
            ):
                write.delete(AlbumModel(pk, _MEMBER + media_id), condition=AlbumModel.sk.exists())
                write.update(AlbumModel(pk, _META), actions=self._counted(-1), condition=AlbumModel.sk.exists())
        except NotFound:
            return False
        return True

    def _clear_cover(self, album_id: str, media_id: str) -> None:
        actions = [AlbumModel.cover_media_id.remove(), AlbumModel.revision.add(1)]
        try:
            with conditional_write(NotFound("not the cover")):
                AlbumModel(_pk(album_id), _META).update(
                    actions=actions, condition=AlbumModel.cover_media_id == media_id
                )
        except NotFound:
            pass

    @staticmethod
    def _counted(change: int) -> list[Action]:
        return [
            AlbumModel.item_count.add(change),
            AlbumModel.revision.add(1),
            AlbumModel.updated_at.set(datetime.now(UTC)),
        ]

    def _current(self, album_id: str) -> Album:
        album = self.get(album_id)
        if album is None:
            raise NotFound("album not found")
        return album

    def _signer(self) -> CursorSigner:
        if not self._cursor_key:
            raise RuntimeError("CURSOR_SIGNING_KEY is not set: listings cannot sign their cursors")
        return CursorSigner(self._cursor_key.encode())
