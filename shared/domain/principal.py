"""Who is calling: the identity the authorizer derived from a verified access token."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from shared.domain.errors import Unauthenticated


class Role(StrEnum):
    """The vault's roles, strongest last."""

    USER = "user"
    PARTNER = "partner"
    ADMIN = "admin"


@dataclass(frozen=True)
class Principal:
    """An authenticated caller; travels between authorizer and handlers as flat context."""

    sub: str
    username: str
    role: Role
    email: str = ""
    partner_org: str = ""
    # Set only for whoever holds a share link's token; never carried in (or read from) an authorizer context.
    link_id: str = ""

    @classmethod
    def for_link(cls, share_id: str) -> Principal:
        """The anonymous holder of a link's token: a plain user who acts as that link's grantee and nothing else."""
        return cls(sub=f"link:{share_id}", username="", role=Role.USER, link_id=share_id)

    @property
    def is_admin(self) -> bool:
        """True for administrators."""
        return self.role is Role.ADMIN

    def to_context(self) -> dict[str, str]:
        """Flat string context (API Gateway authorizer contexts allow no nesting)."""
        return {
            "sub": self.sub,
            "username": self.username,
            "role": self.role.value,
            "email": self.email,
            "partner_org": self.partner_org,
        }

    @classmethod
    def from_context(cls, context: Mapping[str, Any]) -> Principal:
        """Rebuild the principal from the authorizer context a handler receives."""
        try:
            return cls(
                sub=str(context["sub"]),
                username=str(context.get("username", "")),
                role=Role(context["role"]),
                email=str(context.get("email", "") or ""),
                partner_org=str(context.get("partner_org", "") or ""),
            )
        except (KeyError, ValueError) as exc:
            raise Unauthenticated("the request carries no usable identity") from exc


def role_from_claims(roles: list[str]) -> Role | None:
    """The strongest vault role among a token's realm roles, or None when it has none."""
    for role in (Role.ADMIN, Role.PARTNER, Role.USER):
        if role.value in roles:
            return role
    return None
