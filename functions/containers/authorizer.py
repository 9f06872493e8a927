"""The authorizer function's services (python-jose and cryptography load with this module, nowhere else)."""

from __future__ import annotations

from functools import cached_property

from functions.containers import Container
from shared.adapters.identity import JwksCache, TokenVerifier


class AuthorizerContainer(Container):
    """Token verification with this container's JWKS cache."""

    @cached_property
    def token_verifier(self) -> TokenVerifier:
        """Checks Keycloak access tokens against the realm's keys."""
        settings = self.settings
        keys = JwksCache(
            settings.jwks_url,
            min_refetch_seconds=settings.oidc_jwks_refetch_seconds,
            max_age_seconds=settings.oidc_jwks_max_age_seconds,
        )
        return TokenVerifier(
            issuer=settings.oidc_issuer,
            audience=settings.oidc_audience,
            keys=keys,
            leeway_seconds=settings.oidc_leeway_seconds,
            allowed_clients=settings.oidc_allowed_clients,
        )
