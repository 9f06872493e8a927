"""Domain errors: each type is one kind of failure; functions/api maps them to HTTP statuses."""

from __future__ import annotations


class DomainError(Exception):
    """Base of every expected failure; `code` is the stable machine-readable name."""

    code = "error"

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class ValidationError(DomainError):
    """The request is malformed or a value is out of range; `field` names the input at fault, if one is."""

    code = "validation_error"

    def __init__(self, message: str, *, field: str = "") -> None:
        super().__init__(message)
        self.field = field


class UnsupportedMediaType(DomainError):
    """The declared content type is not one the vault accepts."""

    code = "unsupported_media_type"


class PayloadTooLarge(DomainError):
    """A declared size is above the configured limit."""

    code = "payload_too_large"


class Unprocessable(DomainError):
    """Well-formed, but asks for something the resource does not allow (e.g. editing a read-only field)."""

    code = "unprocessable"


class QuotaExceeded(DomainError):
    """The owner's storage quota cannot hold what they declared."""

    code = "quota_exceeded"


class Unauthenticated(DomainError):
    """No valid identity: missing, malformed, expired or forged token."""

    code = "unauthorized"


class PasswordRequired(Unauthenticated):
    """A protected share link was opened without its password."""

    code = "password_required"


class TooManyAttempts(DomainError):
    """Too many wrong passwords for one link in the current window; `retry_after` seconds until it ends."""

    code = "too_many_attempts"

    def __init__(self, message: str, *, retry_after: int) -> None:
        super().__init__(message)
        self.retry_after = retry_after


class Forbidden(DomainError):
    """Authenticated, but the principal's role does not allow the action."""

    code = "forbidden"


class NotFound(DomainError):
    """No such item, or one the principal may not see (the two look the same)."""

    code = "not_found"


class Conflict(DomainError):
    """The item changed under the request (a condition on its state failed)."""

    code = "conflict"


class Unavailable(DomainError):
    """A service the vault depends on is not configured or not answering."""

    code = "unavailable"


class RejectedMedia(DomainError):
    """The file breaks a rule (type not allowed or not what was declared, too many pixels, too long):
    refused on purpose, unlike media that merely failed to decode."""

    code = "rejected_media"


class UnreadableMedia(DomainError):
    """Processing could not decode the object's bytes as the media it claims to be."""

    code = "unreadable_media"


class OutOfTime(DomainError):
    """The invocation's time ran out before processing finished (its outcome still has to be written)."""

    code = "out_of_time"
