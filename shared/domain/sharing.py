"""Sharing use cases: grant, list, change and revoke grants on items and albums, and list what others shared."""

from __future__ import annotations

import itertools
import json
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, fields, replace
from datetime import UTC, datetime

from shared.domain.albums import Albums, AlbumView
from shared.domain.errors import Forbidden, NotFound, ValidationError
from shared.domain.grants import (
    LINK_PERMISSIONS,
    Grant,
    Grantee,
    GranteeType,
    GrantRepository,
    IssuedLink,
    LinkTerms,
    Permission,
    ResourceRef,
    ResourceType,
    SharedAccess,
    ShareTarget,
    grantees_of,
)
from shared.domain.library import MediaLibrary, MediaView
from shared.domain.link_secrets import hash_password, new_token, token_hash
from shared.domain.media import MediaItem
from shared.domain.notifications import ShareEvents
from shared.domain.policy import held_permissions
from shared.domain.ports import MediaQuery, MediaRepository
from shared.domain.principal import Principal, Role
from shared.domain.users import Newcomers, UserRepository

MAX_PAGE = 100
# Every grant lets its grantee see the item: downloading or editing what you cannot see makes no sense.
IMPLIED = frozenset({Permission.VIEW})
_NO_SUCH_USER = "user not found"
_NO_SUCH_SHARE = "share not found"


@dataclass(frozen=True)
class GranteeRequest:
    """Who the caller wants to share with, as they named them: a username, an email or an organisation; or a link,
    with its optional password and use limit."""

    type: GranteeType
    username: str = ""
    email: str = ""
    org: str = ""
    password: str = ""
    max_uses: int | None = None


@dataclass(frozen=True)
class SharedItem:
    """An item shared with the caller and the grant it came through."""

    grant: Grant
    view: MediaView


@dataclass(frozen=True)
class SharedAlbum:
    """An album shared with the caller and the grant it came through."""

    grant: Grant
    view: AlbumView


@dataclass(frozen=True)
class SharedPage:
    """One page of items and albums shared with the caller and the cursor of the next one (None at the end)."""

    items: list[SharedItem | SharedAlbum]
    cursor: str | None
    # The usernames of the owners of what the page shows, by id (an erased owner is missing).
    owner_names: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class GrantPage:
    """One page of grants and the cursor of the next one (None at the end)."""

    items: list[Grant]
    cursor: str | None


class Sharing:
    """Grants on items and albums; who may do what with a shared item is still the policy's call."""

    def __init__(
        self,
        library: MediaLibrary,
        media: MediaRepository,
        grants: GrantRepository,
        users: UserRepository,
        *,
        targets: Mapping[ResourceType, ShareTarget] | None = None,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
        link_base_url: str = "",
        events: ShareEvents | None = None,
        albums: Albums | None = None,
        on_shared: Callable[[Grant], None] | None = None,
        newcomers: Newcomers | None = None,
    ) -> None:
        # Realm users named before their first sign-in (None: only accounts the vault has seen can be named).
        self._newcomers = newcomers
        self._albums = albums
        # Told of every grant made, links included (analytics counts shares created and received).
        self._on_shared = on_shared
        self._link_base_url = link_base_url.rstrip("/")
        self._events = events
        self._targets: dict[ResourceType, ShareTarget] = {ResourceType.MEDIA: library, **(targets or {})}
        self._library = library
        self._media = media
        self._grants = grants
        self._users = users
        self._clock = clock

    def share(
        self,
        principal: Principal,
        resource: ResourceRef,
        grantee: GranteeRequest,
        permissions: frozenset[Permission],
        expires_at: datetime | None,
    ) -> Grant:
        """Grant a user, an organisation or a link permissions on an item or album; a reshare never gives more than
        it holds, and ends with the grant it came from. A link comes back as an IssuedLink, its token shown once."""
        target = self._target(principal, resource)
        wanted = permissions | IMPLIED
        now = self._clock()
        if expires_at is not None and expires_at <= now:
            raise ValidationError("expires_at must be in the future", field="expires_at")
        share_id = uuid.uuid4().hex
        to = self._resolve(principal, target.owner_id, grantee, share_id)
        if to.type is GranteeType.LINK and not wanted <= LINK_PERMISSIONS:
            raise ValidationError("a link allows only view and download", field="permissions")
        parent_id = ""
        if target.owner_id != principal.sub:
            parent = _covering(target, wanted, now)
            if parent.grantee.type is GranteeType.ORG and not self._partner_of(to, parent.grantee.id):
                raise Forbidden("what was shared with an organisation can be reshared only inside it")
            parent_id = parent.share_id
            expires_at = _earliest(expires_at, parent.expires_at)
        grant = Grant(
            share_id=share_id,
            resource_type=target.resource.type,
            resource_id=target.resource.id,
            owner_id=target.owner_id,
            grantee=to,
            permissions=wanted,
            granted_by=principal.sub,
            created_at=now,
            expires_at=expires_at,
            parent_share_id=parent_id,
        )
        if to.type is GranteeType.LINK:
            link = self._issue_link(grant, grantee)  # no event: a link has nobody to notify
            if self._on_shared is not None:
                self._on_shared(link)
            return link
        self._grants.create(grant)  # Conflict if they already hold one, or the parent was revoked meanwhile
        if self._events is not None:
            self._events.granted(grant)
        if self._on_shared is not None:
            self._on_shared(grant)
        return grant

    def _issue_link(self, grant: Grant, request: GranteeRequest) -> IssuedLink:
        token = new_token()
        terms = LinkTerms(
            token_hash=token_hash(token),
            password_hash=hash_password(request.password) if request.password else "",
            max_uses=request.max_uses,
        )
        stored = replace(grant, link=terms)
        self._grants.create(stored)
        url = f"{self._link_base_url}/{token}" if self._link_base_url else ""
        return IssuedLink(**{f.name: getattr(stored, f.name) for f in fields(Grant)}, token=token, url=url)

    def on_resource(self, principal: Principal, resource: ResourceRef) -> list[Grant]:
        """A resource's grants: all of them for the owner, the ones they made for someone holding reshare."""
        target = self._target(principal, resource)
        grants = self._grants.on_resource(target.resource.type, target.resource.id)
        if target.owner_id == principal.sub:
            return grants
        return [grant for grant in grants if grant.granted_by == principal.sub]

    def change(
        self,
        principal: Principal,
        share_id: str,
        permissions: frozenset[Permission] | None,
        expires_at: datetime | None,
        *,
        change_expiry: bool,
    ) -> Grant:
        """Change a grant's permissions or expiry (its grantor or the item's owner); reshares from it follow."""
        grant = self._manageable(principal, share_id)
        now = self._clock()
        wanted = grant.permissions if permissions is None else permissions | IMPLIED
        if grant.grantee.type is GranteeType.LINK and not wanted <= LINK_PERMISSIONS:
            raise ValidationError("a link allows only view and download", field="permissions")
        expiry = expires_at if change_expiry else grant.expires_at
        if change_expiry and expires_at is not None and expires_at <= now:
            raise ValidationError("expires_at must be in the future", field="expires_at")
        if grant.parent_share_id:
            parent = self._grants.get(grant.parent_share_id)
            if parent is None:
                raise NotFound(_NO_SUCH_SHARE)
            if not wanted <= parent.permissions:
                raise Forbidden("a reshare cannot grant more than the grant it came from")
            expiry = _earliest(expiry, parent.expires_at)
        changed = replace(grant, permissions=wanted, expires_at=expiry)
        self._grants.update(changed)
        self._constrain_reshares(changed)
        return changed

    def revoke(self, principal: Principal, share_id: str) -> None:
        """Delete a grant and everything reshared from it."""
        grant = self._manageable(principal, share_id)
        self._grants.delete([grant])
        self.cascade([grant], notify=True)

    def cascade(self, deleted: list[Grant], *, notify: bool) -> list[Grant]:
        """After grants were deleted (revoked, or removed once ended): delete every reshare that hung from them,
        and with notify tell the grantees of all of them; the reshares deleted."""
        removed: list[Grant] = []
        for resource in dict.fromkeys(grant.resource for grant in deleted):
            removed.extend(self._remove_orphans(resource.type, resource.id))
        if notify and self._events is not None:
            self._events.revoked([*deleted, *removed])
        return removed

    def incoming(self, principal: Principal, query: MediaQuery, limit: int, cursor: str | None) -> SharedPage:
        """Items shared with the caller (and, for a partner, with their organisation)."""
        return self._received(principal, grantees_of(principal), "incoming", query, limit, cursor)

    def partner_media(self, principal: Principal, query: MediaQuery, limit: int, cursor: str | None) -> SharedPage:
        """Items shared with the caller's partner organisation."""
        if principal.role is not Role.PARTNER or not principal.partner_org:
            return SharedPage([], None)
        grantees = [Grantee(GranteeType.ORG, principal.partner_org)]
        return self._received(principal, grantees, "partner", query, limit, cursor)

    def outgoing(self, principal: Principal, limit: int, cursor: str | None) -> GrantPage:
        """Grants the caller made, newest first (expired ones too, until revoked)."""
        scope = json.dumps({"listing": "outgoing", "sub": principal.sub}, sort_keys=True)
        entries = list(itertools.islice(self._grants.made_by(principal.sub, cursor, scope, limit + 1), limit + 1))
        page = entries[:limit]
        more = len(entries) > limit
        return GrantPage([grant for grant, _ in page], page[-1][1] if more and page else None)

    def _received(
        self,
        principal: Principal,
        grantees: list[Grantee],
        listing: str,
        query: MediaQuery,
        limit: int,
        cursor: str | None,
    ) -> SharedPage:
        scope = json.dumps(
            {
                "listing": listing,
                "sub": principal.sub,
                "grantees": [g.key for g in grantees],
                "filters": [query.kind, query.status, query.tag, query.text, query.created_from, query.created_to,
                            query.taken_from, query.taken_to],
            },
            sort_keys=True,
        )  # fmt: skip
        entries = self._grants.received(grantees, cursor, scope, page_size=limit + 1)
        now = self._clock()
        shown: list[SharedItem | SharedAlbum] = []
        last = ""
        while True:
            chunk = list(itertools.islice(entries, limit))
            if not chunk:
                return self._named(SharedPage(shown, None))
            live = [grant for grant, _ in chunk if grant.active(now)]
            items = self._media.get_many([g.resource_id for g in live if g.resource_type is ResourceType.MEDIA])
            albums = self._shared_albums(principal, live, query)
            for grant, position in chunk:
                entry = self._entry(principal, grant, items, albums, query, now)
                if entry is None:
                    continue
                if len(shown) == limit:
                    # One more qualifying entry exists: the page is full and a next one is not empty.
                    return self._named(SharedPage(shown, last))
                shown.append(entry)
                last = position

    def _named(self, page: SharedPage) -> SharedPage:
        """The page with its owners' usernames, so a recipient sees who shared each entry."""
        owners = {entry.grant.owner_id for entry in page.items}
        return replace(page, owner_names=self._users.usernames(owners)) if owners else page

    def _shared_albums(self, principal: Principal, live: list[Grant], query: MediaQuery) -> dict[str, AlbumView]:
        # Albums have no kind, status, tags or dates: a filtered listing shows items only.
        if self._albums is None or query.filtered:
            return {}
        return self._albums.shared(principal, [g for g in live if g.resource_type is ResourceType.ALBUM])

    def _entry(
        self,
        principal: Principal,
        grant: Grant,
        items: dict[str, MediaItem],
        albums: dict[str, AlbumView],
        query: MediaQuery,
        now: datetime,
    ) -> SharedItem | SharedAlbum | None:
        if grant.resource_type is ResourceType.ALBUM:
            album = albums.get(grant.resource_id)
            return SharedAlbum(grant, album) if album is not None else None
        item = items.get(grant.resource_id)
        if item is None or not query.admits(item) or not self._listed(principal, item, grant, now):
            return None
        return SharedItem(grant, self._library.view(item))

    @staticmethod
    def _listed(principal: Principal, item: MediaItem, grant: Grant, now: datetime) -> bool:
        return Permission.VIEW in held_permissions(principal, item, [grant], now)

    def _target(self, principal: Principal, resource: ResourceRef) -> SharedAccess:
        target = self._targets.get(resource.type)
        if target is None:
            raise NotFound(f"{resource.type.value} not found")
        return target.shareable(principal, resource.id)

    def _resolve(self, principal: Principal, owner_id: str, grantee: GranteeRequest, share_id: str) -> Grantee:
        if grantee.type is GranteeType.LINK:
            return Grantee(GranteeType.LINK, share_id, "link")
        if grantee.password or grantee.max_uses is not None:
            raise ValidationError("password and max_uses are for links only", field="grantee")
        if grantee.type is GranteeType.ORG:
            if not grantee.org:
                raise ValidationError("an organisation grant needs org", field="grantee.org")
            return Grantee(GranteeType.ORG, grantee.org, grantee.org)
        if grantee.username:
            user = self._users.find_by_username(grantee.username)
        elif grantee.email:
            user = self._users.find_by_email(grantee.email)
        else:
            raise ValidationError("a user grant needs username or email", field="grantee")
        if user is None and self._newcomers is not None:
            user = self._newcomers.find(
                username=grantee.username or None, email=None if grantee.username else grantee.email
            )
        if user is None:
            raise NotFound(_NO_SUCH_USER)
        if user.user_id == principal.sub:
            raise ValidationError("you cannot share with yourself", field="grantee")
        if user.user_id == owner_id:
            raise ValidationError("the owner already holds every permission", field="grantee")
        return Grantee(GranteeType.USER, user.user_id, user.username)

    def _partner_of(self, grantee: Grantee, org: str) -> bool:
        """True when the grantee is a partner account of the organisation."""
        if grantee.type is not GranteeType.USER:
            return False
        user = self._users.get(grantee.id)
        return user is not None and user.role is Role.PARTNER and user.partner_org == org

    def _manageable(self, principal: Principal, share_id: str) -> Grant:
        grant = self._grants.get(share_id)
        if grant is None or principal.sub not in (grant.granted_by, grant.owner_id):
            raise NotFound(_NO_SUCH_SHARE)
        return grant

    def _constrain_reshares(self, parent: Grant) -> None:
        """Reshares never hold more than their parent: trim them (or remove them if reshare was taken away)."""
        everything = self._grants.on_resource(parent.resource_type, parent.resource_id)
        pending = [parent]
        while pending:
            current = pending.pop()
            for child in (g for g in everything if g.parent_share_id == current.share_id):
                trimmed = child.permissions & current.permissions
                if Permission.RESHARE not in current.permissions or not trimmed:
                    self._grants.delete([child])
                    continue
                expiry = _earliest(child.expires_at, current.expires_at)
                if (trimmed, expiry) != (child.permissions, child.expires_at):
                    child = replace(child, permissions=trimmed, expires_at=expiry)
                    self._grants.update(child)
                pending.append(child)
        self._remove_orphans(parent.resource_type, parent.resource_id)

    def _remove_orphans(self, resource_type: ResourceType, resource_id: str) -> list[Grant]:
        """Delete reshares whose parent is gone, level by level (a reshare made during a revoke included); the
        grants it deleted."""
        removed: list[Grant] = []
        while True:
            grants = self._grants.on_resource(resource_type, resource_id)
            present = {grant.share_id for grant in grants}
            orphans = [g for g in grants if g.parent_share_id and g.parent_share_id not in present]
            if not orphans:
                return removed
            self._grants.delete(orphans)
            removed.extend(orphans)


def _covering(target: SharedAccess, wanted: frozenset[Permission], now: datetime) -> Grant:
    """The caller's live grant on this very resource with reshare that holds everything wanted (the new grant
    hangs from it, so revoking it removes the reshare). An album's grant reshares the album, not its items."""
    # A person's own grant first: a reshare from it may go to anyone, one from their organisation's only inside it.
    for grant, permissions in sorted(target.held, key=lambda held: held[0].grantee.type is GranteeType.ORG):
        if grant.resource == target.resource and grant.active(now) and permissions >= wanted | {Permission.RESHARE}:
            return grant
    raise Forbidden("a reshare cannot grant more than you hold")


def _earliest(first: datetime | None, second: datetime | None) -> datetime | None:
    if first is None:
        return second
    if second is None:
        return first
    return min(first, second)
