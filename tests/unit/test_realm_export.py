"""The production Keycloak realm export and the dev identity server's seed agree where they must.

Each check is a plain function run against the real files; the mutation test then breaks one thing at a
time in a copy of the export and requires some check to notice, so no check passes vacuously.
"""

from __future__ import annotations

import copy
import inspect
import json
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from infra.identity.server import IdentityServer, Realm
from shared.adapters.identity import ALGORITHM
from shared.domain.principal import Role

ROOT = Path(__file__).resolve().parents[2]
EXPORT_PATH = ROOT / "infra" / "keycloak" / "realm-export.json"
SEED_PATH = ROOT / "infra" / "identity" / "users.json"

API, WEB, ADMIN_CLI = "media-vault-api", "media-vault-web", "media-vault-admin-cli"
CLI = "media-vault-cli"
SECRET_PLACEHOLDER = "${MEDIA_VAULT_ADMIN_CLIENT_SECRET}"
KEYCLOAK_BUILTIN_ROLES = {"offline_access", "uma_authorization"}
ADMIN_API_ROLES = {"view-users", "manage-users", "query-users", "view-realm"}
USER_PROFILE_PROVIDER = "org.keycloak.userprofile.UserProfileProvider"

Json = dict[str, Any]


def _load(path: Path) -> Json:
    data: Json = json.loads(path.read_text(encoding="utf-8"))
    return data


EXPORT = _load(EXPORT_PATH)
SEED = _load(SEED_PATH)


# --- lookups -------------------------------------------------------------------------------------


def client(realm: Json, client_id: str) -> Json:
    found = [c for c in realm.get("clients", []) if c.get("clientId") == client_id]
    assert len(found) == 1, f"expected exactly one client {client_id!r}, found {len(found)}"
    return found[0]


def mappers(realm: Json, client_id: str, mapper_type: str) -> list[Json]:
    return [m for m in client(realm, client_id).get("protocolMappers", []) if m.get("protocolMapper") == mapper_type]


def realm_roles(realm: Json) -> dict[str, Json]:
    return {r["name"]: r for r in realm.get("roles", {}).get("realm", [])}


def default_role_name(realm: Json) -> str:
    return str(realm.get("defaultRole", {}).get("name"))


def app_role_names(realm: Json) -> set[str]:
    return set(realm_roles(realm)) - KEYCLOAK_BUILTIN_ROLES - {default_role_name(realm)}


def user_profile_attributes(realm: Json) -> dict[str, Json]:
    providers = realm.get("components", {}).get(USER_PROFILE_PROVIDER, [])
    assert len(providers) == 1, "the export must carry exactly one declarative user profile"
    assert providers[0].get("providerId") == "declarative-user-profile"
    config = json.loads(providers[0]["config"]["kc.user.profile.config"][0])
    return {a["name"]: a for a in config["attributes"]}


def dev_server_default_access_token_lifespan() -> int:
    defaults = {inspect.signature(cls).parameters["access_token_lifespan"].default for cls in (IdentityServer, Realm)}
    assert len(defaults) == 1, f"dev server and its realm disagree on the default lifespan: {defaults}"
    return int(defaults.pop())


# --- checks --------------------------------------------------------------------------------------


def check_realm(export: Json, seed: Json) -> None:
    assert export["realm"] == seed["realm"] == "media-vault"
    assert export.get("enabled") is True
    assert export.get("sslRequired") == "external"
    assert export.get("bruteForceProtected") is True
    assert export.get("registrationAllowed") is False
    assert export.get("defaultSignatureAlgorithm") == ALGORITHM, "the API only accepts this algorithm"


def check_realm_roles(export: Json, seed: Json) -> None:
    seed_roles = {r["name"] for r in seed["roles"]}
    assert app_role_names(export) == seed_roles == {r.value for r in Role}
    for name in seed_roles:
        assert realm_roles(export)[name].get("description"), f"role {name!r} needs a description"


def check_default_roles(export: Json, seed: Json) -> None:
    name = default_role_name(export)
    assert name == f"default-roles-{seed['realm']}"
    composite = realm_roles(export).get(name)
    assert composite is not None, "the default role must be declared so its composites are imported"
    assert composite.get("composite") is True
    granted = set(composite.get("composites", {}).get("realm", []))
    assert granted >= set(seed["defaultRoles"]) | KEYCLOAK_BUILTIN_ROLES
    privileged = app_role_names(export) - set(seed["defaultRoles"])
    assert not granted & privileged, f"new users must not get {granted & privileged}"


def check_clients_exist(export: Json, seed: Json) -> None:
    seed_ids = {c["clientId"] for c in seed["clients"]}
    export_ids = {c["clientId"] for c in export.get("clients", [])}
    assert seed_ids == export_ids == {API, WEB, CLI, ADMIN_CLI}
    assert seed["apiClientId"] == API


def check_api_client(export: Json, seed: Json) -> None:
    api = client(export, API)
    assert api.get("bearerOnly") is True is client(seed, API).get("bearerOnly")
    assert api.get("publicClient") is False
    for flow in ("standardFlowEnabled", "implicitFlowEnabled", "directAccessGrantsEnabled", "serviceAccountsEnabled"):
        assert api.get(flow) is False, f"{API} must not be able to obtain tokens ({flow})"


def check_web_client(export: Json, seed: Json) -> None:
    web = client(export, WEB)
    assert web.get("publicClient") is True is client(seed, WEB).get("publicClient")
    assert web.get("standardFlowEnabled") is True
    assert web.get("implicitFlowEnabled") is False
    assert web.get("directAccessGrantsEnabled") is False, "the password grant is dev-only"
    assert web.get("attributes", {}).get("pkce.code.challenge.method") == "S256"
    assert {"http://localhost:*", "http://127.0.0.1:*"} <= set(web.get("redirectUris", []))
    assert "*" not in web.get("redirectUris", []) and "*" not in web.get("webOrigins", [])


def check_cli_client(export: Json, seed: Json) -> None:
    cli = client(export, CLI)
    assert cli.get("publicClient") is True is client(seed, CLI).get("publicClient"), "a laptop keeps no secret"
    assert cli.get("directAccessGrantsEnabled") is True is client(seed, CLI).get("directAccessGrantsEnabled")
    for flow in ("implicitFlowEnabled", "serviceAccountsEnabled"):
        assert cli.get(flow) is False, f"{CLI} signs people in, it is no service ({flow})"
    # `mediavault login --browser`: code flow + PKCE S256 on a loopback redirect of any port (RFC 8252)
    assert cli.get("standardFlowEnabled") is True is client(seed, CLI).get("standardFlowEnabled")
    assert cli.get("attributes", {}).get("pkce.code.challenge.method") == "S256"
    assert client(seed, CLI).get("pkceCodeChallengeMethod") == "S256"
    assert cli.get("redirectUris") == ["http://127.0.0.1:*"] == client(seed, CLI).get("redirectUris")
    # `mediavault login --device` (RFC 8628), and only there
    assert cli.get("attributes", {}).get("oauth2.device.authorization.grant.enabled") == "true"
    assert client(seed, CLI).get("deviceAuthorizationGrantEnabled") is True
    for other in (API, WEB, ADMIN_CLI):
        attributes = client(export, other).get("attributes", {})
        assert attributes.get("oauth2.device.authorization.grant.enabled") == "false", f"{other}: no device grant"
        assert not client(seed, other).get("deviceAuthorizationGrantEnabled"), f"{other}: no device grant (seed)"


def check_audience_mappers(export: Json, seed: Json) -> None:
    for client_id in (WEB, CLI, ADMIN_CLI):
        found = mappers(export, client_id, "oidc-audience-mapper")
        assert any(
            m["config"].get("included.client.audience") == seed["apiClientId"]
            and m["config"].get("access.token.claim") == "true"
            for m in found
        ), f"{client_id} access tokens must carry aud={seed['apiClientId']}"


def check_partner_org_mapper(export: Json, seed: Json) -> None:
    found = mappers(export, WEB, "oidc-usermodel-attribute-mapper")
    partner = [m["config"] for m in found if m["config"].get("claim.name") == "partner_org"]
    assert len(partner) == 1
    config = partner[0]
    assert config.get("user.attribute") == "partner_org"
    assert config.get("jsonType.label") == "String", "the API reads partner_org as a string"
    assert config.get("multivalued") == "false"
    for token in ("access.token.claim", "id.token.claim", "userinfo.token.claim"):
        assert config.get(token) == "true", token
    assert any("partner_org" in u.get("attributes", {}) for u in seed["users"]), "seed has partner_org users"


def check_user_profile(export: Json, seed: Json) -> None:
    attributes = user_profile_attributes(export)
    assert {"username", "email"} <= set(attributes)
    partner_org = attributes.get("partner_org")
    assert partner_org is not None, "Keycloak 24+ drops user attributes the profile does not declare"
    assert partner_org.get("multivalued") is False
    assert partner_org.get("permissions", {}).get("edit") == ["admin"], "users must not set their own org"


def check_admin_cli(export: Json, seed: Json) -> None:
    admin = client(export, ADMIN_CLI)
    assert admin.get("publicClient") is False is client(seed, ADMIN_CLI).get("publicClient")
    assert admin.get("serviceAccountsEnabled") is True is client(seed, ADMIN_CLI).get("serviceAccountsEnabled")
    assert admin.get("standardFlowEnabled") is False
    assert admin.get("directAccessGrantsEnabled") is False
    assert admin.get("secret") == SECRET_PLACEHOLDER


def check_service_account(export: Json, seed: Json) -> None:
    users = export.get("users", [])
    assert [u.get("username") for u in users] == [f"service-account-{ADMIN_CLI}"], "no people in the export"
    account = users[0]
    assert account.get("serviceAccountClientId") == ADMIN_CLI
    assert set(account.get("realmRoles", [])) == set(client(seed, ADMIN_CLI)["serviceAccount"]["realmRoles"])
    assert set(account.get("clientRoles", {}).get("realm-management", [])) >= ADMIN_API_ROLES


def check_token_lifespans(export: Json, seed: Json) -> None:
    assert export.get("accessTokenLifespan") == dev_server_default_access_token_lifespan() == 300
    # A Keycloak refresh token lives as long as the SSO session stays idle.
    assert export.get("ssoSessionIdleTimeout") == seed["refreshTokenLifespan"]


def check_no_secrets(export: Json, seed: Json) -> None:
    text = json.dumps(export)
    assert re.findall(r"\$\{[^}]*\}", text) == [SECRET_PLACEHOLDER], "the only placeholder is the admin secret"
    assert client(seed, ADMIN_CLI)["secret"] not in text
    assert '"credentials"' not in text


CHECKS: list[Callable[[Json, Json], None]] = [
    check_realm,
    check_realm_roles,
    check_default_roles,
    check_clients_exist,
    check_api_client,
    check_web_client,
    check_cli_client,
    check_audience_mappers,
    check_partner_org_mapper,
    check_user_profile,
    check_admin_cli,
    check_service_account,
    check_token_lifespans,
    check_no_secrets,
]


@pytest.mark.parametrize("check", CHECKS, ids=lambda c: c.__name__.removeprefix("check_"))
def test_export_agrees_with_the_dev_seed(check: Callable[[Json, Json], None]) -> None:
    check(copy.deepcopy(EXPORT), SEED)


# --- every check bites ---------------------------------------------------------------------------


def _web(realm: Json) -> Json:
    return client(realm, WEB)


def _audience(realm: Json, client_id: str) -> Json:
    return mappers(realm, client_id, "oidc-audience-mapper")[0]["config"]


def _partner_mapper(realm: Json) -> Json:
    return mappers(realm, WEB, "oidc-usermodel-attribute-mapper")[0]["config"]


def _set_profile(realm: Json, edit: Callable[[list[Json]], list[Json]]) -> None:
    provider = realm["components"][USER_PROFILE_PROVIDER][0]
    config = json.loads(provider["config"]["kc.user.profile.config"][0])
    config["attributes"] = edit(config["attributes"])
    provider["config"]["kc.user.profile.config"] = [json.dumps(config)]


def _partner_org_user_editable(attributes: list[Json]) -> list[Json]:
    next(a for a in attributes if a["name"] == "partner_org")["permissions"]["edit"] = ["admin", "user"]
    return attributes


def _default_composites(realm: Json) -> list[str]:
    composites: list[str] = realm_roles(realm)[default_role_name(realm)]["composites"]["realm"]
    return composites


MUTATIONS: dict[str, Callable[[Json], object]] = {
    "realm renamed": lambda r: r.update(realm="vault"),
    "realm disabled": lambda r: r.update(enabled=False),
    "ssl not required": lambda r: r.update(sslRequired="none"),
    "brute force off": lambda r: r.update(bruteForceProtected=False),
    "registration on": lambda r: r.update(registrationAllowed=True),
    "HS256 tokens": lambda r: r.update(defaultSignatureAlgorithm="HS256"),
    "role missing": lambda r: r["roles"]["realm"].remove(realm_roles(r)["partner"]),
    "extra role": lambda r: r["roles"]["realm"].append({"name": "superuser", "description": "x"}),
    "role without description": lambda r: realm_roles(r)["admin"].pop("description"),
    "no defaultRole": lambda r: r.pop("defaultRole"),
    "default role undeclared": lambda r: r["roles"]["realm"].remove(realm_roles(r)[default_role_name(r)]),
    "default role lacks user": lambda r: _default_composites(r).remove("user"),
    "default role lacks offline_access": lambda r: _default_composites(r).remove("offline_access"),
    "default role grants admin": lambda r: _default_composites(r).append("admin"),
    "client missing": lambda r: r["clients"].remove(client(r, ADMIN_CLI)),
    "api not bearer-only": lambda r: client(r, API).update(bearerOnly=False),
    "api has standard flow": lambda r: client(r, API).update(standardFlowEnabled=True),
    "api has service account": lambda r: client(r, API).update(serviceAccountsEnabled=True),
    "web confidential": lambda r: _web(r).update(publicClient=False),
    "web without standard flow": lambda r: _web(r).update(standardFlowEnabled=False),
    "web implicit flow": lambda r: _web(r).update(implicitFlowEnabled=True),
    "web password grant": lambda r: _web(r).update(directAccessGrantsEnabled=True),
    "web PKCE plain": lambda r: _web(r)["attributes"].update({"pkce.code.challenge.method": "plain"}),
    "web PKCE absent": lambda r: _web(r)["attributes"].pop("pkce.code.challenge.method"),
    "web no loopback redirect": lambda r: _web(r)["redirectUris"].remove("http://127.0.0.1:*"),
    "web redirect anywhere": lambda r: _web(r)["redirectUris"].append("*"),
    "web audience wrong": lambda r: _audience(r, WEB).update({"included.client.audience": "account"}),
    "web audience not in access token": lambda r: _audience(r, WEB).update({"access.token.claim": "false"}),
    "cli confidential": lambda r: client(r, CLI).update(publicClient=False),
    "cli implicit flow": lambda r: client(r, CLI).update(implicitFlowEnabled=True),
    "cli without browser sign-in": lambda r: client(r, CLI).update(standardFlowEnabled=False),
    "cli PKCE absent": lambda r: client(r, CLI)["attributes"].pop("pkce.code.challenge.method"),
    "cli redirect anywhere": lambda r: client(r, CLI)["redirectUris"].append("*"),
    "cli without device grant": lambda r: client(r, CLI)["attributes"].update(
        {"oauth2.device.authorization.grant.enabled": "false"}
    ),
    "web device grant": lambda r: _web(r)["attributes"].update({"oauth2.device.authorization.grant.enabled": "true"}),
    "cli audience missing": lambda r: client(r, CLI).pop("protocolMappers"),
    "admin audience missing": lambda r: client(r, ADMIN_CLI).pop("protocolMappers"),
    "partner_org claim renamed": lambda r: _partner_mapper(r).update({"claim.name": "org"}),
    "partner_org wrong attribute": lambda r: _partner_mapper(r).update({"user.attribute": "org"}),
    "partner_org multivalued": lambda r: _partner_mapper(r).update({"multivalued": "true"}),
    "partner_org as JSON": lambda r: _partner_mapper(r).update({"jsonType.label": "JSON"}),
    "partner_org not in userinfo": lambda r: _partner_mapper(r).update({"userinfo.token.claim": "false"}),
    "partner_org undeclared": lambda r: _set_profile(r, lambda a: [x for x in a if x["name"] != "partner_org"]),
    "partner_org user-editable": lambda r: _set_profile(r, _partner_org_user_editable),
    "no user profile": lambda r: r.pop("components"),
    "admin cli public": lambda r: client(r, ADMIN_CLI).update(publicClient=True),
    "admin cli without service account": lambda r: client(r, ADMIN_CLI).update(serviceAccountsEnabled=False),
    "admin cli password grant": lambda r: client(r, ADMIN_CLI).update(directAccessGrantsEnabled=True),
    "admin secret hard-coded": lambda r: client(r, ADMIN_CLI).update(secret="s3cr3t"),
    "demo user added": lambda r: r["users"].append(
        {"username": "alice", "credentials": [{"type": "password", "value": "alice"}]}
    ),
    "service account not admin": lambda r: r["users"][0].update(realmRoles=["user"]),
    "service account cannot manage users": lambda r: r["users"][0]["clientRoles"]["realm-management"].remove(
        "manage-users"
    ),
    "service account unlinked": lambda r: r["users"][0].pop("serviceAccountClientId"),
    "access token lifespan": lambda r: r.update(accessTokenLifespan=600),
    "sso idle timeout": lambda r: r.update(ssoSessionIdleTimeout=3600),
    "stray placeholder": lambda r: realm_roles(r)["user"].update(description="${role_user}"),
}


def _fails_some_check(export: Json) -> bool:
    for check in CHECKS:
        try:
            check(export, SEED)
        except AssertionError:
            return True
    return False


@pytest.mark.parametrize("name", list(MUTATIONS))
def test_a_broken_export_is_caught(name: str) -> None:
    broken = copy.deepcopy(EXPORT)
    MUTATIONS[name](broken)
    assert broken != EXPORT, "the mutation changed nothing"
    assert _fails_some_check(broken), f"no check notices: {name}"
