"""API Gateway TOKEN authorizer: a Keycloak access token becomes a principal, or 401."""

from __future__ import annotations

from chalice.app import AuthRequest, AuthResponse, Blueprint

from functions import dependencies
from shared.adapters.identity import principal_from_claims
from shared.config import get_settings
from shared.domain.errors import Unauthenticated
from shared.observability import logger

bp = Blueprint(__name__)

BEARER = "bearer "


def bearer_token(header: str | None) -> str:
    """The token of an `Authorization: Bearer <token>` header; Unauthenticated otherwise."""
    if not header or not header[: len(BEARER)].lower() == BEARER:
        raise Unauthenticated("expected an Authorization: Bearer token")
    return header[len(BEARER) :].strip()


@bp.authorizer(name="keycloak", ttl_seconds=60)
def keycloak(auth_request: AuthRequest) -> AuthResponse:
    """Allow every route for a valid token (route policy is the handlers' job); 401 otherwise."""
    try:
        claims = dependencies.token_verifier().verify(bearer_token(auth_request.token))
        principal = principal_from_claims(claims, get_settings().oidc_roles_claim)
    except Unauthenticated as exc:
        logger.info("token refused", extra={"reason": exc.message})
        # API Gateway answers 401 only for this exact message.
        raise Exception("Unauthorized") from exc  # noqa: TRY002
    return AuthResponse(routes=["*"], principal_id=principal.sub, context=principal.to_context())
