"""API Gateway TOKEN authorizer: a Keycloak access token becomes a principal, or 401.

It is its own Lambda function (handler `functions.authorizer.keycloak`), so this module is the composition root of
its container. python-jose and cryptography load with that container, on the first token: the API and processing
functions import this module for the blueprint and never pay for them.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from chalice.app import AuthRequest, AuthResponse, Blueprint

from functions.containers import Lazy
from shared.config import Settings
from shared.domain.errors import Unauthenticated
from shared.observability import logger

if TYPE_CHECKING:
    from functions.containers.authorizer import AuthorizerContainer

bp = Blueprint(__name__)

BEARER = "bearer "


def _build() -> AuthorizerContainer:
    from functions.containers.authorizer import AuthorizerContainer

    return AuthorizerContainer(Settings.from_env())


services: Lazy[AuthorizerContainer] = Lazy(_build)


def bearer_token(header: str | None) -> str:
    """The token of an `Authorization: Bearer <token>` header; Unauthenticated otherwise."""
    if not header or not header[: len(BEARER)].lower() == BEARER:
        raise Unauthenticated("expected an Authorization: Bearer token")
    return header[len(BEARER) :].strip()


@bp.authorizer(name="keycloak", ttl_seconds=60)
def keycloak(auth_request: AuthRequest) -> AuthResponse:
    """Allow every route for a valid token (route policy is the handlers' job); 401 otherwise."""
    container = services()
    from shared.adapters.identity import principal_from_claims  # loaded with the container, above

    try:
        claims = container.token_verifier.verify(bearer_token(auth_request.token))
        principal = principal_from_claims(claims, container.settings.oidc_roles_claim)
    except Unauthenticated as exc:
        logger.info("token refused", extra={"reason": exc.message})
        # API Gateway answers 401 only for this exact message.
        raise Exception("Unauthorized") from exc  # noqa: TRY002
    return AuthResponse(routes=["*"], principal_id=principal.sub, context=principal.to_context())
