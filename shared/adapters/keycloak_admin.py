"""Keycloak's Admin REST API through a service-account client (client-credentials grant)."""

from __future__ import annotations

import contextlib
import json
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from typing import Any

from shared.domain.errors import NotFound, Unavailable
from shared.domain.principal import Role
from shared.domain.users import RealmUser

PARTNER_ORG_ATTRIBUTE = "partner_org"
_VAULT_ROLES = {role.value for role in Role}


class KeycloakAdmin:
    """IdentityDirectory on a Keycloak realm (or the dev identity server, which speaks the same API)."""

    def __init__(self, issuer: str, client_id: str, client_secret: str, timeout: float = 5.0) -> None:
        base, _, realm = issuer.rstrip("/").rpartition("/realms/")
        if not base.startswith(("https://", "http://")) or not realm:
            raise ValueError(f"issuer {issuer!r} is not a Keycloak realm URL")
        self._token_url = f"{issuer.rstrip('/')}/protocol/openid-connect/token"
        self._admin = f"{base}/admin/realms/{realm}"
        self._client_id = client_id
        self._secret = client_secret
        self._timeout = timeout
        self._token = ""
        self._token_expires = 0.0
        self._lock = threading.Lock()

    # --- transport ---------------------------------------------------------------------------
    def _access_token(self) -> str:
        with self._lock:
            if time.monotonic() < self._token_expires:
                return self._token
            if not self._secret:
                raise Unavailable("identity administration is not configured (KEYCLOAK_ADMIN_CLIENT_SECRET)")
            form = urllib.parse.urlencode(
                {"grant_type": "client_credentials", "client_id": self._client_id, "client_secret": self._secret}
            ).encode()
            # The URL's scheme was checked in __init__ (http/https only).
            token_request = urllib.request.Request(self._token_url, data=form, method="POST")  # noqa: S310
            document = self._send(token_request)
            self._token = str(document["access_token"])
            # Renew 30 s early so a token never expires between check and use.
            self._token_expires = time.monotonic() + max(0, int(document.get("expires_in", 60)) - 30)
            return self._token

    def _send(self, request: urllib.request.Request) -> Any:
        try:
            with urllib.request.urlopen(request, timeout=self._timeout) as response:  # noqa: S310 - realm URL from settings
                body = response.read()
        except urllib.error.HTTPError as exc:
            if exc.code == 404:
                raise NotFound("user not found") from exc
            raise Unavailable(f"identity provider answered {exc.code}") from exc
        except OSError as exc:
            raise Unavailable("identity provider is not reachable") from exc
        return json.loads(body) if body else None

    def _call(self, method: str, path: str, body: Any = None, query: dict[str, Any] | None = None) -> Any:
        url = f"{self._admin}{path}"
        if query:
            url += "?" + urllib.parse.urlencode(query)
        for attempt in range(2):
            request = urllib.request.Request(url, method=method)  # noqa: S310 - scheme checked in __init__
            request.add_header("Authorization", f"Bearer {self._access_token()}")
            if body is not None:
                request.data = json.dumps(body).encode()
                request.add_header("Content-Type", "application/json")
            try:
                return self._send(request)
            except Unavailable as refused:
                # A cached token the realm no longer accepts (its signing key rotated, its session ended before it
                # expired): forget it and try once more with a new one.
                if (
                    attempt
                    or not isinstance(refused.__cause__, urllib.error.HTTPError)
                    or refused.__cause__.code != 401
                ):
                    raise
                with self._lock:
                    self._token_expires = 0.0
        raise AssertionError("unreachable")

    # --- IdentityDirectory ---------------------------------------------------------------------
    def _realm_user(self, rep: dict[str, Any]) -> RealmUser:
        roles = self._call("GET", f"/users/{rep['id']}/role-mappings/realm") or []
        orgs = (rep.get("attributes") or {}).get(PARTNER_ORG_ATTRIBUTE) or [""]
        return RealmUser(
            user_id=str(rep["id"]),
            username=str(rep.get("username", "")),
            email=str(rep.get("email") or ""),
            enabled=bool(rep.get("enabled", True)),
            roles=tuple(str(r["name"]) for r in roles),
            partner_org=str(orgs[0]),
        )

    def search_users(self, search: str, first: int, max_results: int) -> list[RealmUser]:
        """A page of users matching search (Keycloak's username/email/name search)."""
        query: dict[str, Any] = {"first": first, "max": max_results, "briefRepresentation": "false"}
        if search:
            query["search"] = search
        reps = self._call("GET", "/users", query=query) or []
        return [
            self._realm_user(rep) for rep in reps if not str(rep.get("username", "")).startswith("service-account-")
        ]

    def find_user(self, *, username: str | None = None, email: str | None = None) -> RealmUser | None:
        """The one user with exactly this username or email (Keycloak's `exact` match), or None."""
        field, value = ("username", username) if username else ("email", email)
        if not value:
            return None
        query = {field: value, "exact": "true", "max": 2, "briefRepresentation": "false"}
        reps = [
            rep
            for rep in self._call("GET", "/users", query=query) or []
            if str(rep.get(field, "")).lower() == value.lower()
        ]
        return self._realm_user(reps[0]) if len(reps) == 1 else None

    def get_user(self, user_id: str) -> RealmUser | None:
        """One user, or None."""
        try:
            return self._realm_user(self._call("GET", f"/users/{urllib.parse.quote(user_id, safe='')}"))
        except NotFound:
            return None

    def set_role(self, user_id: str, role: Role, partner_org: str) -> RealmUser:
        """Replace the user's vault roles with role (`user` stays as the base role) and set the org attribute."""
        quoted = urllib.parse.quote(user_id, safe="")
        realm_roles = {r["name"]: r for r in self._call("GET", "/roles") or []}
        current = {r["name"] for r in self._call("GET", f"/users/{quoted}/role-mappings/realm") or []}
        wanted = {Role.USER.value, role.value}
        remove = [realm_roles[name] for name in (current & _VAULT_ROLES) - wanted if name in realm_roles]
        add = [realm_roles[name] for name in wanted - current if name in realm_roles]
        if remove:
            self._call("DELETE", f"/users/{quoted}/role-mappings/realm", body=remove)
        if add:
            self._call("POST", f"/users/{quoted}/role-mappings/realm", body=add)
        rep = self._call("GET", f"/users/{quoted}")
        attributes = dict(rep.get("attributes") or {})
        if partner_org:
            attributes[PARTNER_ORG_ATTRIBUTE] = [partner_org]
        else:
            attributes.pop(PARTNER_ORG_ATTRIBUTE, None)
        self._call("PUT", f"/users/{quoted}", body={**rep, "attributes": attributes})
        return self._realm_user(self._call("GET", f"/users/{quoted}"))

    def delete_user(self, user_id: str) -> None:
        """Delete the realm user (an erasure's last word on the person); one already gone is fine."""
        with contextlib.suppress(NotFound):
            self._call("DELETE", f"/users/{urllib.parse.quote(user_id, safe='')}")
