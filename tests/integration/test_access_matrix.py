"""Issue 10's access matrix over real HTTP: every route that takes an item, album, grant, link or version id (and
the few that take a notification or user id), asked by every kind of caller, against one local stack; the expected
statuses are the table below.

Product rules the table encodes: someone else's item, album or grant answers 404 (never 403), no token 401; a
grantee reads with view, downloads only with download, edits only with edit, reshares only with reshare; admins
read, download, edit, trash, restore, purge and describe but never upload, version or share in the owner's name;
an expired or revoked grant is no grant; a partner of the granted organisation reads, of another one gets 404; a
role the route does not allow answers 403.
A share link's token is its own credential (functions/api/links.py): right password 200, no password 401
`password_required`, wrong password, used-up, revoked, expired or unknown link 404.
"""

from __future__ import annotations

import secrets
import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import boto3
import pytest
import requests

from functions.api.access import ROUTE_ROLES
from infra.local.stack import DevStack
from tests.integration.conftest import MIB
from tests.support.http import password_token, post_form
from tests.support.images import jpeg_bytes
from tests.support.realm import create_realm_user, service_account_token

# Columns of MATRIX, one caller each. Grantees hold a grant on the route's item or album with one permission (view
# comes with every grant); the expired and revoked grantees held every permission before it ended; `acme` is pat,
# a partner of the organisation granted view; `globex` is gina, a partner of another organisation.
# fmt: off
ACTORS = ("owner", "view", "download", "edit", "reshare", "expired", "revoked", "other", "acme", "globex", "admin",
          "anon")
# fmt: on
USERS = {
    "owner": "alice",
    "view": "am-view",
    "download": "am-download",
    "edit": "am-edit",
    "reshare": "am-reshare",
    "expired": "am-expired",
    "revoked": "am-revoked",
    "other": "am-other",
    "acme": "pat",
    "globex": "gina",
    "admin": "ada",
}
SPARES = ("am-spare1", "am-spare2")  # grantees of the grants the matrix itself makes; never callers
GRANTS = {"view": ["view"], "download": ["download"], "edit": ["edit"], "reshare": ["reshare"]}
EVERY_PERMISSION = ["view", "download", "edit", "reshare"]

# fmt: off
MATRIX: dict[str, tuple[int, ...]] = {
    #                                                  owner view  dl  edit resh  exp  rev  oth acme glob admin anon
    "POST /uploads/{media_id}/parts":                   (200, 404, 404, 404, 404, 404, 404, 404, 404, 404, 404, 401),
    "GET /uploads/{media_id}/parts":                    (200, 404, 404, 404, 404, 404, 404, 404, 404, 404, 404, 401),
    "POST /uploads/{media_id}/complete":                (200, 404, 404, 404, 404, 404, 404, 404, 404, 404, 404, 401),
    "DELETE /uploads/{media_id}":                       (204, 404, 404, 404, 404, 404, 404, 404, 404, 404, 404, 401),
    "GET /media/{media_id}":                            (200, 200, 200, 200, 200, 404, 404, 404, 200, 404, 200, 401),
    "PATCH /media/{media_id}":                          (200, 404, 404, 200, 404, 404, 404, 404, 404, 404, 200, 401),
    "DELETE /media/{media_id}":                         (204, 404, 404, 404, 404, 404, 404, 404, 404, 404, 204, 401),
    "POST /media/{media_id}/restore":                   (200, 404, 404, 404, 404, 404, 404, 404, 404, 404, 200, 401),
    "DELETE /trash/{media_id}":                         (204, 404, 404, 404, 404, 404, 404, 404, 404, 404, 204, 401),
    "GET /media/{media_id}/download":                   (200, 404, 200, 404, 404, 404, 404, 404, 404, 404, 200, 401),
    "POST /media/{media_id}/describe":                  (202, 404, 404, 404, 404, 404, 404, 404, 404, 404, 202, 401),
    # The version history is the owner's (and admins'): a grantee sees the current original, never what it replaced.
    "GET /media/{media_id}/versions":                   (200, 404, 404, 404, 404, 404, 404, 404, 404, 404, 200, 401),
    "POST /media/{media_id}/versions":                  (201, 404, 404, 404, 404, 404, 404, 404, 404, 404, 404, 401),
    "POST /media/{media_id}/versions/{version_id}/restore":
                                                        (200, 404, 404, 404, 404, 404, 404, 404, 404, 404, 404, 401),
    "POST /media/{media_id}/shares":                    (201, 404, 404, 404, 201, 404, 404, 404, 404, 404, 404, 401),
    "GET /media/{media_id}/shares":                     (200, 404, 404, 404, 200, 404, 404, 404, 404, 404, 404, 401),
    # A grant the reshare grantee made from theirs: its grantor and the item's owner manage it, nobody else.
    "PATCH /shares/{share_id}":                         (200, 404, 404, 404, 200, 404, 404, 404, 404, 404, 404, 401),
    "DELETE /shares/{share_id}":                        (204, 404, 404, 404, 204, 404, 404, 404, 404, 404, 404, 401),
    "GET /albums/{album_id}":                           (200, 200, 200, 200, 200, 404, 404, 404, 200, 404, 200, 401),
    "PATCH /albums/{album_id}":                         (200, 404, 404, 200, 404, 404, 404, 404, 404, 404, 200, 401),
    "DELETE /albums/{album_id}":                        (204, 404, 404, 404, 404, 404, 404, 404, 404, 404, 204, 401),
    "GET /albums/{album_id}/items":                     (200, 200, 200, 200, 200, 404, 404, 404, 200, 404, 200, 401),
    "POST /albums/{album_id}/items":                    (200, 404, 404, 404, 404, 404, 404, 404, 404, 404, 404, 401),
    "PATCH /albums/{album_id}/items/{media_id}":        (200, 404, 404, 200, 404, 404, 404, 404, 404, 404, 200, 401),
    "DELETE /albums/{album_id}/items/{media_id}":       (204, 404, 404, 404, 404, 404, 404, 404, 404, 404, 404, 401),
    "POST /albums/{album_id}/shares":                   (201, 404, 404, 404, 201, 404, 404, 404, 404, 404, 404, 401),
    "GET /albums/{album_id}/shares":                    (200, 404, 404, 404, 200, 404, 404, 404, 404, 404, 404, 401),
    # Beyond issue 10's list: the other routes taking an id. A notification of the view grantee's (it tells them
    # of their grant); the admin routes on the `other` user's account, which answer non-admins 403 by role.
    "POST /notifications/{notification_id}/read":       (404, 200, 404, 404, 404, 404, 404, 404, 404, 404, 404, 401),
    "PUT /admin/users/{user_id}/status":                (403, 403, 403, 403, 403, 403, 403, 403, 403, 403, 200, 401),
    "PUT /admin/users/{user_id}/role":                  (403, 403, 403, 403, 403, 403, 403, 403, 403, 403, 200, 401),
    "PUT /admin/users/{user_id}/quota":                 (403, 403, 403, 403, 403, 403, 403, 403, 403, 403, 200, 401),
    # Erasure names a realm user who never had an account: the admin is let through (and finds nothing), nobody else.
    "DELETE /admin/users/{user_id}/data":               (403, 403, 403, 403, 403, 403, 403, 403, 403, 403, 404, 401),
    # Moderation: the photo awaits no review, so whoever is let through meets 409; an admin decides, its owner asks.
    "POST /admin/moderation/{media_id}":                (403, 403, 403, 403, 403, 403, 403, 403, 403, 403, 409, 401),
    "POST /media/{media_id}/review":                    (409, 404, 404, 404, 404, 404, 404, 404, 404, 404, 404, 401),
    # An export is its maker's alone: everyone else, admins included, is told it does not exist.
    "GET /me/export/{job_id}":                          (200, 404, 404, 404, 404, 404, 404, 404, 404, 404, 404, 401),
    # A maintenance job (a reconcile that only reports): for admins, whoever started it.
    "GET /admin/jobs/{job_id}":                         (403, 403, 403, 403, 403, 403, 403, 403, 403, 403, 200, 401),
    # Every caller here holds an unprotected view+download link: a bearer token neither helps nor hurts.
    "GET /links/{token}":                               (200, 200, 200, 200, 200, 200, 200, 200, 200, 200, 200, 200),
    "GET /links/{token}/download":                      (200, 200, 200, 200, 200, 200, 200, 200, 200, 200, 200, 200),
    # ... and here a view+download link to the album, asked for the item in it.
    "GET /links/{token}/items/{media_id}/download":     (200, 200, 200, 200, 200, 200, 200, 200, 200, 200, 200, 200),
}

# Anonymous link holders, one column each (links on the item, view+download unless the column says otherwise;
# `album` is a view-only link to the album, `album_dl` a view+download one). An item route asks for `album_photo`.
LINK_ACTORS = ("password", "no_password", "wrong_password", "open", "used_up", "revoked", "expired", "unknown",
               "view_only", "album", "album_dl")
LINK_MATRIX: dict[str, tuple[int, ...]] = {
    #                                                pw  no_pw bad_pw open used  rev  exp  unkn view album al_dl
    "GET /links/{token}":                            (200, 401, 404, 200, 404, 404, 404, 404, 200, 200, 200),
    "GET /links/{token}/download":                   (200, 401, 404, 200, 404, 404, 404, 404, 404, 404, 404),
    "GET /links/{token}/items/{media_id}/download":  (404, 401, 404, 404, 404, 404, 404, 404, 404, 404, 200),
}
# fmt: on

# Placeholders that name something someone holds (or a link's token): a route taking one must have a row.
ID_PLACEHOLDERS = (
    "{media_id}",
    "{album_id}",
    "{share_id}",
    "{token}",
    "{version_id}",
    "{notification_id}",
    "{user_id}",
    "{job_id}",
)
HTTP_METHODS = {"get", "put", "post", "delete", "patch", "head", "options"}
LINK_PASSWORD = "correct horse battery"
Params = dict[str, str]


def routes_taking_an_id(operations: list[tuple[str, str]]) -> set[str]:
    """'METHOD /path' of every operation whose path names an item, album, grant, link or version."""
    return {f"{method} {path}" for method, path in operations if any(p in path for p in ID_PLACEHOLDERS)}


def test_every_route_taking_an_id_has_a_row(stack: DevStack) -> None:
    documented = requests.get(f"{stack.api_url}/openapi.json", timeout=10).json()["paths"]
    served = [(m.upper(), path) for path, operations in documented.items() for m in operations if m in HTTP_METHODS]
    wanted = routes_taking_an_id([*ROUTE_ROLES, *served])
    assert not sorted(wanted - set(MATRIX)), f"routes with no row in MATRIX: {sorted(wanted - set(MATRIX))}"
    assert not sorted(set(MATRIX) - wanted), f"rows naming no route: {sorted(set(MATRIX) - wanted)}"
    assert all(len(row) == len(ACTORS) for row in MATRIX.values())
    assert set(LINK_MATRIX) <= set(MATRIX) and all(len(row) == len(LINK_ACTORS) for row in LINK_MATRIX.values())


# --- the world: alice's media, albums, grants and links, made over HTTP ---------------------------------------


@dataclass
class World:
    """Everything the cells act on: ids and link tokens by name, each caller's access token."""

    stack: DevStack
    bearer: dict[str, str]  # actor -> access token (the anonymous caller has none)
    ids: dict[str, str] = field(default_factory=dict)
    links: dict[str, str] = field(default_factory=dict)
    parts: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    ready_pool: list[str] = field(default_factory=list)
    _local: threading.local = field(default_factory=threading.local)

    def call(
        self, actor: str, method: str, path: str, body: Any = None, headers: dict[str, str] | None = None
    ) -> requests.Response:
        """One request as actor."""
        url = f"{self.stack.api_url}{path}"
        sessions = self._local.__dict__.setdefault("sessions", {})  # one session per thread and caller
        if actor not in sessions:
            sessions[actor] = _session(self.bearer.get(actor))
        return sessions[actor].request(method, url, json=body, headers=headers, timeout=15)

    def owner(self, method: str, path: str, body: Any = None) -> dict[str, Any]:
        """A set-up request as the owner, which must succeed; its JSON body ({} when empty)."""
        response = self.call("owner", method, path, body)
        assert response.status_code < 300, f"set-up {method} {path}: {response.status_code} {response.text}"
        return response.json() if response.content else {}

    def as_user(self, actor: str, method: str, path: str, body: Any = None) -> dict[str, Any]:
        """A set-up request as another caller, which must succeed."""
        response = self.call(actor, method, path, body)
        assert response.status_code < 300, f"set-up {actor} {method} {path}: {response.status_code} {response.text}"
        return response.json() if response.content else {}


def _session(token: str | None) -> requests.Session:
    session = requests.Session()
    if token:
        session.headers["Authorization"] = f"Bearer {token}"
    return session


def _upload_photo(world: World, seed: int) -> str:
    data = jpeg_bytes(64 + seed, 48 + seed)
    ticket = world.owner(
        "POST", "/uploads", {"filename": f"m{seed}.jpg", "content_type": "image/jpeg", "size": len(data)}
    )
    assert post_form(ticket["upload"], data, "image/jpeg").status_code in (200, 201, 204)
    return str(ticket["media_id"])


def _declare(world: World, size: int) -> dict[str, Any]:
    return world.owner("POST", "/uploads", {"filename": "big.jpg", "content_type": "image/jpeg", "size": size})


def _wait_ready(world: World, media_ids: list[str], timeout: float = 60.0) -> None:
    deadline = datetime.now(UTC) + timedelta(seconds=timeout)
    waiting = set(media_ids)
    while waiting:
        for media_id in sorted(waiting):
            if world.owner("GET", f"/media/{media_id}").get("status") in {"ready", "failed", "rejected"}:
                waiting.discard(media_id)
        assert datetime.now(UTC) < deadline, f"never ready: {sorted(waiting)}"
        time.sleep(0.05)
    for media_id in media_ids:
        assert world.owner("GET", f"/media/{media_id}")["status"] == "ready", media_id


def _end_in_the_past(world: World, share_id: str) -> None:
    """Make a grant expired by writing its expiry straight into the shares table (no waiting for the clock)."""
    dynamodb = boto3.client(
        "dynamodb",
        region_name="us-east-1",
        endpoint_url=world.stack.dynamodb_url,
        aws_access_key_id="test",  # the emulator's; the module fixture runs outside the per-test fake AWS env
        aws_secret_access_key="test",
    )
    table = world.stack.env.get("SHARES_TABLE", f"{world.stack.stack_name}-shares")
    (key,) = dynamodb.query(
        TableName=table,
        IndexName="share-id-index",
        KeyConditionExpression="share_id = :id",
        ExpressionAttributeValues={":id": {"S": share_id}},
    )["Items"]
    past = (datetime.now(UTC) - timedelta(hours=1)).strftime("%Y-%m-%dT%H:%M:%S.%f+0000")
    dynamodb.update_item(
        TableName=table,
        Key={"resource": key["resource"], "grantee": key["grantee"]},
        UpdateExpression="SET expires_at = :past",
        ExpressionAttributeValues={":past": {"S": past}},
    )


def _share(
    world: World, resource: str, grantee: dict[str, str], permissions: list[str], **terms: Any
) -> dict[str, Any]:
    return world.owner("POST", f"{resource}/shares", {"grantee": grantee, "permissions": permissions, **terms})


def _grant_everyone(world: World, resource: str) -> None:
    """The grants every column of MATRIX assumes, on one item or album (resource: '/media/<id>' or '/albums/<id>')."""
    for actor, permissions in GRANTS.items():
        _share(world, resource, {"type": "user", "username": USERS[actor]}, permissions)
    _share(world, resource, {"type": "org", "org": "acme"}, ["view"])
    soon = (datetime.now(UTC) + timedelta(days=1)).isoformat()
    expired = _share(world, resource, {"type": "user", "username": USERS["expired"]}, EVERY_PERMISSION, expires_at=soon)
    _end_in_the_past(world, expired["share_id"])
    revoked = _share(world, resource, {"type": "user", "username": USERS["revoked"]}, EVERY_PERMISSION)
    world.owner("DELETE", f"/shares/{revoked['share_id']}")


def _links(world: World) -> None:
    photo = f"/media/{world.ids['photo']}"
    link = {"type": "link"}
    both = ["view", "download"]
    world.links["open"] = _share(world, photo, link, both)["token"]
    world.links["password"] = _share(world, photo, link, both, password=LINK_PASSWORD)["token"]
    world.links["view_only"] = _share(world, photo, link, ["view"])["token"]
    world.links["album"] = _share(world, f"/albums/{world.ids['album']}", link, ["view"])["token"]
    world.links["album_dl"] = _share(world, f"/albums/{world.ids['album']}", link, both)["token"]
    used = _share(world, photo, link, both, max_uses=1)["token"]
    opened = requests.get(f"{world.stack.api_url}/links/{used}", timeout=10)
    assert opened.status_code == 200, opened.text
    world.links["used_up"] = used
    revoked = _share(world, photo, link, both)
    world.owner("DELETE", f"/shares/{revoked['share_id']}")
    world.links["revoked"] = revoked["token"]
    soon = (datetime.now(UTC) + timedelta(days=1)).isoformat()
    expired = _share(world, photo, link, both, expires_at=soon)
    _end_in_the_past(world, expired["share_id"])
    world.links["expired"] = expired["token"]
    world.links["unknown"] = secrets.token_urlsafe(32)  # well-formed, names nothing


def _multipart(world: World, *, with_parts: bool) -> str:
    """A declared multipart upload of alice's (two parts), its parts sent (and noted in world.parts) when with_parts."""
    ticket = _declare(world, 5 * MIB + 1)
    assert ticket["upload"]["method"] == "MULTIPART", ticket
    media_id = str(ticket["media_id"])
    if with_parts:
        signed = world.owner("POST", f"/uploads/{media_id}/parts", {"part_numbers": [1, 2]})["parts"]
        for part in signed:
            sent = requests.put(part["url"], data=b"\0" * part["size"], timeout=30)
            assert sent.status_code == 200, sent.text
            world.parts.setdefault(media_id, []).append(
                {"part_number": part["part_number"], "etag": sent.headers["ETag"]}
            )
    return media_id


def _new_version(world: World, name: str, seed: int) -> None:
    """Give a ready item a second original (the first becomes its older version)."""
    data = jpeg_bytes(90 + seed, 70)
    body = {"content_type": "image/jpeg", "size": len(data)}
    ticket = world.owner("POST", f"/media/{world.ids[name]}/versions", body)
    assert post_form(ticket["upload"], data, "image/jpeg").status_code in (200, 201, 204)


def _older_version(world: World, name: str) -> str:
    versions = world.owner("GET", f"/media/{world.ids[name]}/versions")["versions"]
    older = [v["version_id"] for v in versions if not v["is_current"]]
    assert older, f"{name} has a single version"
    return str(older[0])


def build_world(stack: DevStack) -> World:
    """alice's media, album, grants and links for the matrix, all made over HTTP (two expiries written directly).

    Granting is the slow part of the set-up (about 0.4 s a grant here), so only four resources carry the full set
    of grants: `photo` (two versions, links), `upload_parts` (a multipart upload in progress), `trashed` and
    `album` (holding `album_photo`). Every denial runs against one of them; successes that consume their target
    get an ungranted one of their own (see SCENARIOS).
    """
    admin_token = service_account_token(stack.issuer)
    for username in [*USERS.values(), *SPARES]:
        create_realm_user(stack.issuer, username, admin_token=admin_token)
    with ThreadPoolExecutor(max_workers=4) as pool:
        tokens = dict(
            zip(USERS, pool.map(lambda name: password_token(stack.issuer, name), USERS.values()), strict=True)
        )
    world = World(stack, tokens)
    for spare in SPARES:  # the API knows a user (and can grant them) once they have called it
        _session(password_token(stack.issuer, spare)).get(f"{stack.api_url}/me", timeout=10).raise_for_status()
    for actor in USERS:
        world.as_user(actor, "GET", "/me")

    # Photos first: the worker processes them while the grants are made.
    photos = ("photo", "versioned", "loose", "album_photo", "fresh_ready")
    for seed, name in enumerate(photos):
        world.ids[name] = _upload_photo(world, seed)
    world.ids["upload_parts"] = _multipart(world, with_parts=False)
    world.ids["trashed"] = str(_declare(world, 1000)["media_id"])
    world.ids["album"] = world.owner("POST", "/albums", {"title": "Matrix"})["album_id"]
    granted = [f"/media/{world.ids[name]}" for name in ("photo", "upload_parts", "trashed")]
    with ThreadPoolExecutor(max_workers=4) as pool:
        list(pool.map(lambda resource: _grant_everyone(world, resource), [*granted, f"/albums/{world.ids['album']}"]))
    world.owner("DELETE", f"/media/{world.ids['trashed']}")

    _wait_ready(world, [world.ids[name] for name in photos])
    world.ready_pool.append(world.ids.pop("fresh_ready"))
    world.owner("POST", f"/albums/{world.ids['album']}/items", {"media_ids": [world.ids["album_photo"]]})
    _new_version(world, "photo", 1)
    _new_version(world, "versioned", 2)
    # The grant the reshare grantee makes from theirs, for the /shares/{share_id} rows.
    reshared = world.as_user(
        "reshare",
        "POST",
        f"/media/{world.ids['photo']}/shares",
        {"grantee": {"type": "user", "username": SPARES[0]}, "permissions": ["view"]},
    )
    world.ids["reshare"] = reshared["share_id"]
    _wait_ready(world, [world.ids["photo"], world.ids["versioned"]])
    world.ids["photo_old"] = _older_version(world, "photo")
    world.ids["versioned_old"] = _older_version(world, "versioned")
    _links(world)  # on the ready photo: a link to an item in processing opens nothing
    world.ids["other_user"] = world.as_user("other", "GET", "/me")["user_id"]
    world.ids["notification"] = _first_notification(world, "view")
    world.ids["export"] = world.owner("POST", "/me/export")["job_id"]
    world.ids["admin_job"] = world.as_user("admin", "POST", "/admin/reconcile", {"fix": False})["job_id"]
    return world


def _first_notification(world: World, actor: str, timeout: float = 20.0) -> str:
    """The id of one of actor's notifications (the notifier writes them shortly after a grant)."""
    deadline = datetime.now(UTC) + timedelta(seconds=timeout)
    while datetime.now(UTC) < deadline:
        items = world.as_user(actor, "GET", "/notifications")["items"]
        if items:
            return str(items[0]["notification_id"])
        time.sleep(0.1)
    raise AssertionError(f"{actor} never got a notification of their grants")


# --- how each row is asked, and how its cells are kept apart ---------------------------------------------------
#
# State is kept apart like this: rows run one after another; a row's denials run first, side by side, against a
# shared target (a refused request changes nothing). Then each cell expected to succeed runs alone: on a route that
# changes state it either gets a target of its own (`fresh`: a new album, a new trashed item, a new grant, a new
# upload, a ready item kept for it) or its change is undone right after (`undo`: restore what was trashed, revoke
# the grant just made, take the added item out); `prepare` puts the target back in the state the route needs before
# every cell (re-trash for restore and purge); bodies that need a version read it as the owner right before.
# `undo` also runs after a denial that wrongly succeeded, so such a leak does not spill into later rows.


@dataclass(frozen=True)
class Scenario:
    """Path parameters of a row's target, its minimal valid body, and how its cells are kept apart."""

    target: Callable[[World], Params]
    body: Callable[[World, Params], Any] | None = None
    prepare: Callable[[World, Params], None] | None = None
    fresh: Callable[[World], Params] | None = None
    undo: Callable[[World, Params, requests.Response], None] | None = None


def _item(name: str) -> Callable[[World], Params]:
    return lambda world: {"media_id": world.ids[name]}


def _album(world: World) -> Params:
    return {"album_id": world.ids["album"]}


def _media_version(world: World, params: Params) -> int:
    response = world.call("owner", "GET", f"/media/{params['media_id']}")
    return int(response.json().get("version", 0)) if response.ok else 0


def _album_version(world: World, params: Params) -> int:
    response = world.call("owner", "GET", f"/albums/{params['album_id']}")
    return int(response.json().get("version", 0)) if response.ok else 0


def _ensure_trashed(world: World, params: Params) -> None:
    world.call("owner", "DELETE", f"/media/{params['media_id']}")  # trashing twice is trashing once


def _restore(world: World, params: Params, _: requests.Response) -> None:
    world.call("owner", "POST", f"/media/{params['media_id']}/restore")


def _revoke_created(world: World, _: Params, response: requests.Response) -> None:
    world.call("owner", "DELETE", f"/shares/{response.json()['share_id']}")


def _fresh_trashed(world: World) -> Params:
    media_id = str(_declare(world, 1000)["media_id"])
    world.owner("DELETE", f"/media/{media_id}")
    return {"media_id": media_id}


def _fresh_ready(world: World) -> Params:
    if not world.ready_pool:
        world.ready_pool.append(_upload_photo(world, 40))
        _wait_ready(world, world.ready_pool)
    return {"media_id": world.ready_pool.pop()}


def _fresh_reshare(world: World) -> Params:
    made = world.as_user(
        "reshare", "POST", f"/media/{world.ids['photo']}/shares", {"grantee": {"type": "link"}, "permissions": ["view"]}
    )
    return {"share_id": made["share_id"]}


def _fresh_member(world: World) -> Params:
    world.owner("POST", f"/albums/{world.ids['album']}/items", {"media_ids": [world.ids["loose"]]})
    return {"album_id": world.ids["album"], "media_id": world.ids["loose"]}


def _take_loose_out(world: World, params: Params, _: requests.Response) -> None:
    world.call("owner", "DELETE", f"/albums/{params['album_id']}/items/{world.ids['loose']}")


def _completion(world: World, params: Params) -> dict[str, Any]:
    made_up = [{"part_number": n, "etag": f'"{n:032x}"'} for n in (1, 2)]  # denials are decided before the parts
    return {"parts": world.parts.get(params["media_id"], made_up)}


def _to_spare(world: World, _: Params) -> dict[str, Any]:
    return {"grantee": {"type": "user", "username": SPARES[1]}, "permissions": ["view"]}


SCENARIOS: dict[str, Scenario] = {
    # Uploads: denials on one granted upload in progress; the owner's complete and abort on uploads of their own.
    "POST /uploads/{media_id}/parts": Scenario(_item("upload_parts"), body=lambda w, p: {"part_numbers": [1]}),
    "GET /uploads/{media_id}/parts": Scenario(_item("upload_parts")),
    "POST /uploads/{media_id}/complete": Scenario(
        _item("upload_parts"), body=_completion, fresh=lambda w: {"media_id": _multipart(w, with_parts=True)}
    ),
    "DELETE /uploads/{media_id}": Scenario(
        _item("upload_parts"), fresh=lambda w: {"media_id": _multipart(w, with_parts=False)}
    ),
    "GET /media/{media_id}": Scenario(_item("photo")),
    "PATCH /media/{media_id}": Scenario(
        _item("photo"), body=lambda w, p: {"version": _media_version(w, p), "title": "matrix"}
    ),
    "DELETE /media/{media_id}": Scenario(_item("photo"), undo=_restore),
    "POST /media/{media_id}/restore": Scenario(_item("trashed"), prepare=_ensure_trashed),
    "DELETE /trash/{media_id}": Scenario(_item("trashed"), prepare=_ensure_trashed, fresh=_fresh_trashed),
    "GET /media/{media_id}/download": Scenario(_item("photo")),
    "POST /media/{media_id}/describe": Scenario(_item("photo")),
    "GET /media/{media_id}/versions": Scenario(_item("photo")),
    "POST /media/{media_id}/versions": Scenario(
        _item("photo"), body=lambda w, p: {"content_type": "image/jpeg", "size": 1000}, fresh=_fresh_ready
    ),
    "POST /media/{media_id}/versions/{version_id}/restore": Scenario(
        lambda w: {"media_id": w.ids["photo"], "version_id": w.ids["photo_old"]},
        fresh=lambda w: {"media_id": w.ids["versioned"], "version_id": w.ids["versioned_old"]},
    ),
    "POST /media/{media_id}/shares": Scenario(_item("photo"), body=_to_spare, undo=_revoke_created),
    "GET /media/{media_id}/shares": Scenario(_item("photo")),
    "PATCH /shares/{share_id}": Scenario(
        lambda w: {"share_id": w.ids["reshare"]}, body=lambda w, p: {"permissions": ["view"]}
    ),
    "DELETE /shares/{share_id}": Scenario(lambda w: {"share_id": w.ids["reshare"]}, fresh=_fresh_reshare),
    "GET /albums/{album_id}": Scenario(_album),
    "PATCH /albums/{album_id}": Scenario(_album, body=lambda w, p: {"version": _album_version(w, p), "title": "M2"}),
    "DELETE /albums/{album_id}": Scenario(
        _album, fresh=lambda w: {"album_id": w.owner("POST", "/albums", {"title": "gone"})["album_id"]}
    ),
    "GET /albums/{album_id}/items": Scenario(_album),
    "POST /albums/{album_id}/items": Scenario(
        _album, body=lambda w, p: {"media_ids": [w.ids["loose"]]}, undo=_take_loose_out
    ),
    "PATCH /albums/{album_id}/items/{media_id}": Scenario(
        lambda w: {"album_id": w.ids["album"], "media_id": w.ids["album_photo"]},
        body=lambda w, p: {"after": None, "version": _album_version(w, p)},
    ),
    "DELETE /albums/{album_id}/items/{media_id}": Scenario(
        lambda w: {"album_id": w.ids["album"], "media_id": w.ids["album_photo"]}, fresh=_fresh_member
    ),
    "POST /albums/{album_id}/shares": Scenario(_album, body=_to_spare, undo=_revoke_created),
    "GET /albums/{album_id}/shares": Scenario(_album),
    "POST /notifications/{notification_id}/read": Scenario(lambda w: {"notification_id": w.ids["notification"]}),
    # Both admin edits set what the account already has: the admin's success changes nothing.
    "PUT /admin/users/{user_id}/status": Scenario(
        lambda w: {"user_id": w.ids["other_user"]}, body=lambda w, p: {"status": "active"}
    ),
    "PUT /admin/users/{user_id}/quota": Scenario(
        lambda w: {"user_id": w.ids["other_user"]}, body=lambda w, p: {"quota_bytes": None}
    ),
    "PUT /admin/users/{user_id}/role": Scenario(
        lambda w: {"user_id": w.ids["other_user"]}, body=lambda w, p: {"role": "user"}
    ),
    "DELETE /admin/users/{user_id}/data": Scenario(lambda w: {"user_id": "00000000-0000-4000-8000-00000000e7a5"}),
    "POST /admin/moderation/{media_id}": Scenario(
        _item("photo"), body=lambda w, p: {"decision": "approve", "reason": "nothing wrong"}
    ),
    "POST /media/{media_id}/review": Scenario(_item("photo")),
    "GET /me/export/{job_id}": Scenario(lambda w: {"job_id": w.ids["export"]}),
    "GET /admin/jobs/{job_id}": Scenario(lambda w: {"job_id": w.ids["admin_job"]}),
    "GET /links/{token}": Scenario(lambda w: {"token": w.links["open"]}),
    "GET /links/{token}/download": Scenario(lambda w: {"token": w.links["open"]}),
    "GET /links/{token}/items/{media_id}/download": Scenario(
        lambda w: {"token": w.links["album_dl"], "media_id": w.ids["album_photo"]}
    ),
}


@dataclass(frozen=True)
class Cell:
    """One answer the table predicts, and what came."""

    route: str
    actor: str
    expected: int
    got: int
    detail: str

    def __str__(self) -> str:
        return f"{self.route:<55} {self.actor:<15} expected {self.expected} got {self.got}  {self.detail}"


def run_row(world: World, route: str, statuses: tuple[int, ...], pool: ThreadPoolExecutor) -> list[Cell]:
    """Every cell of one MATRIX row: its denials side by side (a refusal changes nothing), then each success alone,
    on its own (or a restored) target."""
    method, path = route.split(" ", 1)
    how = SCENARIOS[route]

    def ask(actor: str, expected: int) -> Cell:
        params = how.fresh(world) if how.fresh is not None and expected < 400 else how.target(world)
        if how.prepare is not None:
            how.prepare(world, params)
        body = how.body(world, params) if how.body is not None else None
        response = world.call(actor, method, path.format(**params), body)
        if response.status_code < 400 and how.undo is not None:
            how.undo(world, params, response)
        return Cell(route, actor, expected, response.status_code, response.text[:100])

    cells = list(zip(ACTORS, statuses, strict=True))
    denied = list(pool.map(lambda cell: ask(*cell), [cell for cell in cells if cell[1] >= 400]))
    return denied + [ask(actor, expected) for actor, expected in cells if expected < 400]


def run_link_row(world: World, route: str, statuses: tuple[int, ...]) -> Iterator[Cell]:
    """Every LINK_MATRIX cell of one link route: anonymous, with the column's token and password."""
    method, path = route.split(" ", 1)
    passwords = {"password": LINK_PASSWORD, "wrong_password": "not the password"}
    for actor, expected in zip(LINK_ACTORS, statuses, strict=True):
        token = world.links["password" if actor in ("no_password", "wrong_password") else actor]
        headers = {"X-Link-Password": passwords[actor]} if actor in passwords else None
        response = world.call(
            "anon", method, path.format(token=token, media_id=world.ids["album_photo"]), headers=headers
        )
        yield Cell(route, f"link:{actor}", expected, response.status_code, response.text[:100])


@pytest.fixture(scope="module")
def world(stack: DevStack) -> World:
    return build_world(stack)


def test_access_matrix(world: World) -> None:
    with ThreadPoolExecutor(max_workers=4) as pool:
        cells = [
            cell for route, row in MATRIX.items() if route in SCENARIOS for cell in run_row(world, route, row, pool)
        ]
    cells += [cell for route, row in LINK_MATRIX.items() for cell in run_link_row(world, route, row)]
    unknown = sorted(set(MATRIX) - set(SCENARIOS))
    mismatches = [cell for cell in cells if cell.got != cell.expected]
    report = "\n".join(str(cell) for cell in mismatches)
    assert not unknown, f"rows with no scenario: {unknown}"
    assert not mismatches, f"{len(mismatches)} of {len(cells)} cells differ from the table:\n{report}"
