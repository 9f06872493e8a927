"""Every registered route has an entry in the route policy table, and the table names no ghost routes."""

from __future__ import annotations

from app import app
from functions.api.access import PUBLIC, ROUTE_ROLES
from shared.domain.principal import Role


def test_every_route_is_in_the_policy_table_and_vice_versa() -> None:
    registered = {(method, path) for path, methods in app.routes.items() for method in methods}
    assert registered == set(ROUTE_ROLES)


def test_public_routes_have_no_authorizer_and_the_rest_do() -> None:
    for path, methods in app.routes.items():
        for method, entry in methods.items():
            is_public = ROUTE_ROLES[(method, path)] == PUBLIC
            assert (entry.authorizer is None) == is_public, f"{method} {path}"


def test_admin_routes_are_admin_only() -> None:
    for (_, path), roles in ROUTE_ROLES.items():
        if path.startswith("/admin/"):
            assert roles == frozenset({Role.ADMIN}), path
