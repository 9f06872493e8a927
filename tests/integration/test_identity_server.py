"""Tests for the Keycloak-compatible dev identity server (they open loopback sockets)."""

from __future__ import annotations

import http.client
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests
from jose import jwt
from jose.exceptions import JWTError

from infra.identity.server import IdentityServer

REALM = "media-vault"
WEB = "media-vault-web"
API = "media-vault-api"
ADMIN_CLI = "media-vault-admin-cli"
REPO_ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture()
def server() -> Iterator[IdentityServer]:
    """A fresh server on a free loopback port (state is per test)."""
    with IdentityServer(port=0) as srv:
        yield srv


def oidc(srv: IdentityServer, leaf: str) -> str:
    """URL of an openid-connect endpoint of the realm."""
    return f"{srv.issuer}/protocol/openid-connect/{leaf}"


def token_request(srv: IdentityServer, **form: str) -> requests.Response:
    """POST a form to the token endpoint."""
    return requests.post(oidc(srv, "token"), data=form, timeout=5)


def password_grant(srv: IdentityServer, username: str, password: str | None = None) -> requests.Response:
    """Password grant through the public web client."""
    return token_request(
        srv,
        grant_type="password",
        client_id=WEB,
        username=username,
        password=username if password is None else password,
    )


def token_for_password(srv: IdentityServer, username: str, password: str) -> str:
    """An access token for a user with an explicit password."""
    resp = password_grant(srv, username, password)
    assert resp.status_code == 200, resp.text
    return str(resp.json()["access_token"])


def token_for(srv: IdentityServer, username: str) -> str:
    """An access token for a seeded user (password = username)."""
    return token_for_password(srv, username, username)


def verify(srv: IdentityServer, token: str) -> dict[str, Any]:
    """Verify a token the way the API does: key from the JWKS by kid, RS256 only, aud and iss checked."""
    jwks = requests.get(oidc(srv, "certs"), timeout=5).json()
    kid = jwt.get_unverified_header(token)["kid"]
    key = next(k for k in jwks["keys"] if k["kid"] == kid)
    claims: dict[str, Any] = jwt.decode(token, key, algorithms=["RS256"], audience=API, issuer=srv.issuer)
    return claims


def admin(srv: IdentityServer, method: str, path: str, token: str | None, **kwargs: Any) -> requests.Response:
    """Call the admin REST API with an optional bearer token."""
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    return requests.request(method, f"{srv.url}/admin/realms/{REALM}{path}", headers=headers, timeout=5, **kwargs)


def dev(srv: IdentityServer, path: str, **kwargs: Any) -> requests.Response:
    """Call a dev-only hook."""
    return requests.post(f"{srv.url}/dev/realms/{REALM}{path}", timeout=5, **kwargs)


def user_id(srv: IdentityServer, admin_token: str, username: str) -> str:
    """Look a user id up through the admin API."""
    found = admin(srv, "GET", "/users", admin_token, params={"username": username, "exact": "true"}).json()
    assert len(found) == 1
    return str(found[0]["id"])


def test_start_on_port_zero_reflects_the_real_port(server: IdentityServer) -> None:
    assert server.port != 0
    assert server.url == f"http://127.0.0.1:{server.port}"
    assert server.issuer == f"{server.url}/realms/{REALM}"


def test_discovery_document(server: IdentityServer) -> None:
    doc = requests.get(f"{server.issuer}/.well-known/openid-configuration", timeout=5).json()
    assert doc["issuer"] == server.issuer
    assert doc["jwks_uri"] == oidc(server, "certs")
    assert doc["token_endpoint"] == oidc(server, "token")
    assert doc["authorization_endpoint"].startswith(server.issuer)
    assert doc["id_token_signing_alg_values_supported"] == ["RS256"]
    assert {"password", "client_credentials", "refresh_token"} <= set(doc["grant_types_supported"])


def test_jwks_publishes_the_signing_key(server: IdentityServer) -> None:
    keys = requests.get(oidc(server, "certs"), timeout=5).json()["keys"]
    header = jwt.get_unverified_header(token_for(server, "alice"))
    assert header["alg"] == "RS256" and header["typ"] == "JWT"
    key = next(k for k in keys if k["kid"] == header["kid"])
    assert key["kty"] == "RSA" and key["use"] == "sig" and key["alg"] == "RS256"
    assert key["n"] and key["e"] == "AQAB"


def test_password_grant_response_and_verified_claims(server: IdentityServer) -> None:
    resp = password_grant(server, "alice")
    assert resp.status_code == 200
    body = resp.json()
    assert body["token_type"] == "Bearer" and body["expires_in"] == 300
    assert body["refresh_expires_in"] > 0 and body["refresh_token"] and body["scope"] == "openid profile email"
    claims = verify(server, body["access_token"])
    assert claims["exp"] - claims["iat"] == 300
    assert claims["aud"] == [API, "account"]
    assert claims["typ"] == "Bearer" and claims["azp"] == WEB
    assert claims["sub"] == "61c95ab1-357b-4bfb-a25a-453278d91a96"
    assert claims["preferred_username"] == "alice" and claims["email"] == "alice@example.test"
    assert claims["email_verified"] is True and claims["given_name"] == "Alice"
    assert claims["sid"] == claims["session_state"] == body["session_state"]
    assert claims["realm_access"] == {"roles": ["user"]}
    assert "partner_org" not in claims


def test_partner_and_admin_claims(server: IdentityServer) -> None:
    pat = verify(server, token_for(server, "pat"))
    assert pat["partner_org"] == "acme" and set(pat["realm_access"]["roles"]) == {"user", "partner"}
    assert verify(server, token_for(server, "gina"))["partner_org"] == "globex"
    assert set(verify(server, token_for(server, "ada"))["realm_access"]["roles"]) == {"user", "admin"}


def test_access_token_lifespan_is_configurable() -> None:
    with IdentityServer(port=0, access_token_lifespan=60) as srv:
        claims = verify(srv, token_for(srv, "bob"))
    assert claims["exp"] - claims["iat"] == 60


@pytest.mark.parametrize(("username", "password"), [("alice", "wrong"), ("nobody", "nobody"), ("alice", "")])
def test_bad_credentials_are_invalid_grant(server: IdentityServer, username: str, password: str) -> None:
    resp = password_grant(server, username, password)
    assert resp.status_code == 401
    assert resp.json() == {"error": "invalid_grant", "error_description": "Invalid user credentials"}


def test_disabled_user_cannot_log_in(server: IdentityServer) -> None:
    assert dev(server, "/users/bob/disable").status_code == 204
    resp = password_grant(server, "bob")
    assert resp.status_code == 400 and resp.json()["error"] == "invalid_grant"


def test_client_errors(server: IdentityServer) -> None:
    wrong = token_request(server, grant_type="client_credentials", client_id=ADMIN_CLI, client_secret="nope")
    assert wrong.status_code == 401 and wrong.json()["error"] == "invalid_client"
    unknown = token_request(server, grant_type="password", client_id="ghost", username="alice", password="alice")
    assert unknown.status_code == 401 and unknown.json()["error"] == "invalid_client"
    bearer_only = token_request(server, grant_type="password", client_id=API, username="alice", password="alice")
    assert bearer_only.status_code == 400
    public_cc = token_request(server, grant_type="client_credentials", client_id=WEB)
    assert public_cc.status_code == 400 and public_cc.json()["error"] == "unauthorized_client"


def test_grant_type_errors(server: IdentityServer) -> None:
    unsupported = token_request(server, grant_type="implicit", client_id=WEB)
    assert unsupported.status_code == 400 and unsupported.json()["error"] == "unsupported_grant_type"
    missing = token_request(server, client_id=WEB)
    assert missing.status_code == 400 and missing.json()["error"] == "invalid_request"


def test_client_credentials_service_account(server: IdentityServer) -> None:
    resp = token_request(server, grant_type="client_credentials", client_id=ADMIN_CLI, client_secret="dev-admin-secret")
    assert resp.status_code == 200
    body = resp.json()
    assert "refresh_token" not in body
    claims = verify(server, body["access_token"])
    assert claims["preferred_username"] == f"service-account-{ADMIN_CLI}"
    assert claims["sub"] == "dfced158-efcb-4e6f-a4e3-2729e32b8ac9"
    assert claims["azp"] == ADMIN_CLI and claims["realm_access"]["roles"] == ["admin"]
    assert admin(server, "GET", "/users/count", body["access_token"]).json() == 5


def test_refresh_grant(server: IdentityServer) -> None:
    first = password_grant(server, "pat").json()
    resp = token_request(server, grant_type="refresh_token", client_id=WEB, refresh_token=first["refresh_token"])
    assert resp.status_code == 200
    again = resp.json()
    claims = verify(server, again["access_token"])
    assert claims["preferred_username"] == "pat" and claims["sid"] == first["session_state"]
    assert jwt.get_unverified_claims(again["refresh_token"])["typ"] == "Refresh"


def test_refresh_grant_refuses_bad_tokens(server: IdentityServer) -> None:
    body = password_grant(server, "alice").json()
    head, payload, sig = body["refresh_token"].split(".")
    tampered = f"{head}.{payload}.{sig[:-4]}{'AAAA' if sig[-4:] != 'AAAA' else 'BBBB'}"
    for token in (tampered, body["access_token"], "not-a-jwt"):
        resp = token_request(server, grant_type="refresh_token", client_id=WEB, refresh_token=token)
        assert resp.status_code == 400 and resp.json()["error"] == "invalid_grant", token
    other_client = token_request(
        server,
        grant_type="refresh_token",
        client_id=ADMIN_CLI,
        client_secret="dev-admin-secret",
        refresh_token=body["refresh_token"],
    )
    assert other_client.status_code == 400 and other_client.json()["error"] == "invalid_grant"
    dev(server, "/users/alice/disable")
    disabled = token_request(server, grant_type="refresh_token", client_id=WEB, refresh_token=body["refresh_token"])
    assert disabled.status_code == 400 and disabled.json()["error"] == "invalid_grant"


def test_rotation_keeps_old_key_published(server: IdentityServer) -> None:
    old_token = token_for(server, "alice")
    old_kid = jwt.get_unverified_header(old_token)["kid"]
    rotated = dev(server, "/keys/rotate")
    assert rotated.status_code == 200
    new_kid = jwt.get_unverified_header(token_for(server, "alice"))["kid"]
    assert new_kid == rotated.json()["kid"] != old_kid
    kids = {k["kid"] for k in requests.get(oidc(server, "certs"), timeout=5).json()["keys"]}
    assert kids == {old_kid, new_kid}
    assert verify(server, old_token)["preferred_username"] == "alice"


def test_rotation_with_retire_old_invalidates_old_tokens(server: IdentityServer) -> None:
    old_admin = token_for(server, "ada")
    old_kid = jwt.get_unverified_header(old_admin)["kid"]
    assert dev(server, "/keys/rotate", json={"retire_old": True}).status_code == 200
    kids = {k["kid"] for k in requests.get(oidc(server, "certs"), timeout=5).json()["keys"]}
    assert old_kid not in kids and len(kids) == 1
    with pytest.raises(StopIteration):
        verify(server, old_admin)
    assert admin(server, "GET", "/users", old_admin).status_code == 401
    assert admin(server, "GET", "/users", token_for(server, "ada")).status_code == 200


def test_dev_sign_crafts_tokens_with_chosen_claims(server: IdentityServer) -> None:
    now = int(time.time())
    expired = dev(
        server,
        "/sign",
        json={
            "sub": "x",
            "iss": server.issuer,
            "aud": API,
            "typ": "Bearer",
            "iat": now - 600,
            "exp": now - 300,
            "realm_access": {"roles": ["admin"]},
        },
    ).json()["token"]
    with pytest.raises(JWTError):
        verify(server, expired)
    wrong_aud = server.issue_token("alice", aud="someone-else")
    with pytest.raises(JWTError):
        verify(server, wrong_aud)
    assert admin(server, "GET", "/users", expired).status_code == 401
    assert dev(server, "/sign", json=["not", "an", "object"]).status_code == 400


def test_issue_token_in_process(server: IdentityServer) -> None:
    claims = verify(server, server.issue_token("pat", email=None, partner_org="initech"))
    assert claims["partner_org"] == "initech" and "email" not in claims
    with pytest.raises(KeyError):
        server.issue_token("nobody")


def test_admin_api_authorization(server: IdentityServer) -> None:
    assert admin(server, "GET", "/users", None).status_code == 401
    assert admin(server, "GET", "/users", "garbage").status_code == 401
    forbidden = admin(server, "GET", "/users", token_for(server, "alice"))
    assert forbidden.status_code == 403


def test_admin_lists_and_searches_users(server: IdentityServer) -> None:
    ada = token_for(server, "ada")
    everyone = admin(server, "GET", "/users", ada).json()
    assert [u["username"] for u in everyone] == ["ada", "alice", "bob", "gina", "pat"]
    pat = admin(server, "GET", "/users", ada, params={"search": "pa"}).json()
    assert [u["username"] for u in pat] == ["pat"]
    assert pat[0]["attributes"] == {"partner_org": ["acme"]} and pat[0]["email"] == "pat@example.test"
    assert {"id", "username", "firstName", "lastName", "enabled", "emailVerified", "createdTimestamp"} <= set(pat[0])
    infix = admin(server, "GET", "/users", ada, params={"search": "*example.test"}).json()
    assert len(infix) == 5
    assert len(admin(server, "GET", "/users", ada, params={"first": "1", "max": "2"}).json()) == 2
    assert admin(server, "GET", "/users", ada, params={"email": "gina@"}).json()[0]["username"] == "gina"
    assert admin(server, "GET", "/users", ada, params={"q": "partner_org:globex"}).json()[0]["username"] == "gina"
    assert admin(server, "GET", "/users/count", ada, params={"search": "a"}).json() == 2
    assert admin(server, "GET", "/users", ada, params={"max": "-1"}).status_code == 400


def test_admin_get_and_update_user(server: IdentityServer) -> None:
    ada = token_for(server, "ada")
    bob_id = user_id(server, ada, "bob")
    assert admin(server, "GET", f"/users/{bob_id}", ada).json()["username"] == "bob"
    assert admin(server, "GET", "/users/no-such-id", ada).status_code == 404
    update = {"firstName": "Robert", "attributes": {"partner_org": ["initech"]}}
    assert admin(server, "PUT", f"/users/{bob_id}", ada, json=update).status_code == 204
    assert verify(server, token_for(server, "bob"))["partner_org"] == "initech"
    assert admin(server, "PUT", f"/users/{bob_id}", ada, json={"enabled": "no"}).status_code == 400
    assert admin(server, "PUT", f"/users/{bob_id}", ada, json={"enabled": False}).status_code == 204
    assert password_grant(server, "bob").status_code == 400
    assert admin(server, "GET", f"/users/{bob_id}", ada).json()["firstName"] == "Robert"


def test_realm_roles_and_role_mappings(server: IdentityServer) -> None:
    ada = token_for(server, "ada")
    roles = {r["name"]: r for r in admin(server, "GET", "/roles", ada).json()}
    assert set(roles) == {"user", "partner", "admin"}
    alice_id = user_id(server, ada, "alice")
    path = f"/users/{alice_id}/role-mappings/realm"
    assert [r["name"] for r in admin(server, "GET", path, ada).json()] == ["user"]
    partner = {"id": roles["partner"]["id"], "name": "partner"}
    assert admin(server, "POST", path, ada, json=[partner]).status_code == 204
    assert set(verify(server, token_for(server, "alice"))["realm_access"]["roles"]) == {"user", "partner"}
    assert admin(server, "DELETE", path, ada, json=[partner]).status_code == 204
    assert verify(server, token_for(server, "alice"))["realm_access"]["roles"] == ["user"]
    assert admin(server, "POST", path, ada, json=[{"name": "wizard"}]).status_code == 404
    assert admin(server, "POST", path, ada, json={"name": "partner"}).status_code == 400


def test_create_user_then_log_in(server: IdentityServer) -> None:
    ada = token_for(server, "ada")
    new_user = {
        "username": "Zoe",
        "email": "zoe@example.test",
        "enabled": True,
        "firstName": "Zoe",
        "attributes": {"partner_org": ["acme"]},
        "credentials": [{"type": "password", "value": "zoe-pass", "temporary": False}],
    }
    created = admin(server, "POST", "/users", ada, json=new_user)
    assert created.status_code == 201
    location = created.headers["Location"]
    assert location.startswith(f"{server.url}/admin/realms/{REALM}/users/")
    assert admin(server, "POST", "/users", ada, json=new_user).status_code == 409
    assert admin(server, "POST", "/users", ada, json={"email": "x@example.test"}).status_code == 400
    claims = verify(server, token_for_password(server, "zoe", "zoe-pass"))
    assert claims["sub"] == location.rsplit("/", 1)[1]
    assert claims["partner_org"] == "acme" and claims["realm_access"]["roles"] == ["user"]
    assert admin(server, "GET", "/users/count", ada).json() == 6


def test_unknown_realm_path_and_method(server: IdentityServer) -> None:
    other = requests.get(f"{server.url}/realms/other/protocol/openid-connect/certs", timeout=5)
    assert other.status_code == 404 and other.json()["error"]
    assert requests.get(f"{server.url}/nope", timeout=5).status_code == 404
    assert requests.get(oidc(server, "token"), timeout=5).status_code == 405


def test_malformed_requests_get_400_json(server: IdentityServer) -> None:
    as_json = requests.post(oidc(server, "token"), json={"grant_type": "password"}, timeout=5)
    assert as_json.status_code == 400 and as_json.json()["error"] == "invalid_request"
    form = {"Content-Type": "application/x-www-form-urlencoded"}
    for body in (b"grant_type=password&username=%ff", b"grant_type=password&grant_type=password", b"\xff\xfe"):
        resp = requests.post(oidc(server, "token"), data=body, headers=form, timeout=5)
        assert resp.status_code == 400 and resp.json()["error"] == "invalid_request", body
    ada = token_for(server, "ada")
    bad_json = admin(server, "POST", "/users", ada, data=b"{not json")
    assert bad_json.status_code == 400 and bad_json.headers["Content-Type"] == "application/json"


def test_oversized_and_invalid_bodies(server: IdentityServer) -> None:
    big = requests.post(oidc(server, "token"), data={"grant_type": "password", "pad": "x" * 70_000}, timeout=5)
    assert big.status_code == 413 and big.json()["error"]
    conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=5)
    conn.putrequest("POST", f"/realms/{REALM}/protocol/openid-connect/token")
    conn.putheader("Content-Length", "abc")
    conn.endheaders()
    resp = conn.getresponse()
    assert resp.status == 400 and resp.getheader("Content-Type") == "application/json"
    conn.close()


def test_cli_serves_until_sigterm() -> None:
    proc = subprocess.Popen(
        [sys.executable, "-m", "infra.identity.server", "--port", "0"],
        cwd=REPO_ROOT,
        stdout=subprocess.PIPE,
        text=True,
        env={**os.environ, "PYTHONPATH": str(REPO_ROOT)},
    )
    try:
        assert proc.stdout is not None
        banner = proc.stdout.readline()
        issuer = banner.rsplit(" ", 1)[1].strip()
        assert issuer.startswith("http://127.0.0.1:") and issuer.endswith(f"/realms/{REALM}")
        assert requests.get(f"{issuer}/protocol/openid-connect/certs", timeout=5).status_code == 200
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=10) == 0
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
