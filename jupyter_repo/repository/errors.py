"""Domain errors. The HTTP layer maps each class to a status code; the domain never does."""

from __future__ import annotations


class RepositoryError(Exception):
    """Base class: carries a message meant for the end user."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class InvalidInput(RepositoryError):
    """The request or the uploaded content is malformed or violates a rule."""


class NotFound(RepositoryError):
    """The object does not exist, or the caller may not know that it exists."""


class Unauthenticated(RepositoryError):
    """No valid credentials were given where some are required."""


class Forbidden(RepositoryError):
    """The caller is known and may see the object, but may not do this to it."""


class Conflict(RepositoryError):
    """The object already exists (or a concurrent change won)."""


class TooLarge(RepositoryError):
    """A body, a file or an archive's content is over a configured limit."""


class DigestMismatch(InvalidInput):
    """The uploaded bytes do not match the checksum the client announced."""


class RateLimited(RepositoryError):
    """Too many attempts in a short time."""

    def __init__(self, message: str, retry_after: int) -> None:
        super().__init__(message)
        self.retry_after = retry_after


class Busy(RateLimited):
    """The server has too much of this kind of work in progress; the caller may retry soon."""


class UpstreamUnavailable(RepositoryError):
    """A proxy needed its upstream, which could not answer (down, erring, or sending what
    fails verification), and had no copy to answer with instead."""
