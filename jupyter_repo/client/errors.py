"""Errors of the client: one class per thing a user can act on, each with a one-line message.

The CLI prints ``message``; the Jupyter extension answers with ``status`` and ``reason``
(``{"message", "reason"}``), so every caller shows the same sentence.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Literal, get_args

# The closed set of ``reason`` codes the Jupyter extension answers with (in JSON errors and
# failed tasks). The JupyterLab extension switches on them: labextension/src/errors.ts lists
# the same codes, and tests/test_labextension.py checks that both lists agree.
Reason = Literal[
    "bad_request",
    "not_configured",
    "unauthorized",
    "forbidden",
    "not_found",
    "conflict",
    "too_large",
    "rate_limited",
    "server_error",
    "unreachable",
    "cancelled",
    "capture_failed",
    "install_failed",
    "error",  # an unexpected failure (a bug): the message says what, the server log more
]
REASONS: tuple[Reason, ...] = get_args(Reason)


def mask(text: str, secrets: Iterable[str]) -> str:
    """``text`` with every secret (a token, also inside an index or channel URL) replaced
    by ``***``: pip's and rattler's output and errors are shown to users as they are."""
    for secret in secrets:
        if secret:
            text = text.replace(secret, "***")
    return text


class ClientError(Exception):
    """Base class: ``message`` is a sentence for the user, ``reason`` a short code."""

    status = 400
    reason: Reason = "bad_request"

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = " ".join(message.split())  # one line, whatever the server sent

    def __str__(self) -> str:
        return self.message


class BadRequest(ClientError):
    """The repository (or this client) refused the request as malformed."""


class NotConfigured(ClientError):
    """No repository URL, or no token where one is needed."""

    reason = "not_configured"


class Unauthorized(ClientError):
    """401: the credentials were refused (expired, revoked, wrong password)."""

    status = 401
    reason = "unauthorized"


class Forbidden(ClientError):
    """403: known user, but not allowed (read-only group, narrow token scope)."""

    status = 403
    reason = "forbidden"


class NotFound(ClientError):
    status = 404
    reason = "not_found"


class Conflict(ClientError):
    """409: the version or file already exists (published versions are immutable)."""

    status = 409
    reason = "conflict"


class TooLarge(ClientError):
    """413: over a size limit of the repository (or of this client's project rules)."""

    status = 413
    reason = "too_large"


class RateLimited(ClientError):
    status = 429
    reason = "rate_limited"


class ServerError(ClientError):
    """5xx from the repository."""

    status = 502
    reason = "server_error"


class Unreachable(ClientError):
    """No HTTP answer at all: connection refused, DNS, TLS, timeout."""

    status = 502
    reason = "unreachable"


class Cancelled(ClientError):
    """The operation was cancelled by the user."""

    status = 409
    reason = "cancelled"


class CaptureError(ClientError):
    """The environment of a kernel or prefix could not be read."""

    reason = "capture_failed"


class InstallError(ClientError):
    """An installation could not be done (or failed in pip / rattler)."""

    reason = "install_failed"


BY_STATUS: dict[int, type[ClientError]] = {
    400: BadRequest,
    401: Unauthorized,
    403: Forbidden,
    404: NotFound,
    409: Conflict,
    413: TooLarge,
    429: RateLimited,
}


def from_status(status: int, message: str) -> ClientError:
    """The error for an HTTP status from the repository."""
    kind = BY_STATUS.get(status)
    if kind is None:
        kind = ServerError if status >= 500 else BadRequest
    return kind(message)
