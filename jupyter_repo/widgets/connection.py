"""The widgets' link to the repository: a :class:`RepoClient` from the user's configuration.

A kernel does not need the Jupyter server extension: the URL and token come from
``JUPYTER_REPO_URL`` / ``JUPYTER_REPO_TOKEN`` or from what ``jupyter repo login`` (or the
extension's login dialog) saved in the user's Jupyter config folder; see
:func:`jupyter_repo.client.config.resolve` (a token goes only to the repository it belongs
to: ``connect(url=OTHER)`` does not take ``JUPYTER_REPO_TOKEN`` along).
A widget may also be given a client directly.

Nothing here prints, logs or shows the token: :func:`mask` removes it from any text before a
widget displays it, and :func:`describe` turns any error into the one line a user reads.
"""

from __future__ import annotations

import contextlib
import threading
import warnings
from dataclasses import dataclass, field

from jupyter_repo.client import errors
from jupyter_repo.client.api import RepoClient
from jupyter_repo.client.config import TOKEN_VARIABLE, URL_VARIABLE, Advice, resolve

#: Seconds a widget waits for one answer of the repository (searches must stay snappy).
DEFAULT_TIMEOUT = 15.0

NOT_VISIBLE = "not found, or not visible to you"
#: A notebook's user sets the repository up in a terminal (or with variables).
IN_A_NOTEBOOK = Advice(
    configure=f"run 'jupyter repo login --url URL' in a terminal, or set {URL_VARIABLE} "
    f"(and {TOKEN_VARIABLE} for private packages)",
    log_in=f"run 'jupyter repo login' in a terminal, or set {TOKEN_VARIABLE}",
)


class TokenWithheld(UserWarning):
    """A configured token was not sent: it belongs to another repository."""


def connect(
    client: RepoClient | None = None,
    *,
    url: str | None = None,
    token: str | None = None,
    timeout: float = DEFAULT_TIMEOUT,
) -> RepoClient:
    """``client`` itself, else a client for ``url``/``token``, else for the user's config.

    Raises :class:`~jupyter_repo.client.errors.NotConfigured` when no repository URL is
    configured anywhere.
    """
    if client is not None:
        return client
    credentials = resolve(url, token)
    for line in credentials.withheld:  # shown under the cell; the token itself never is
        warnings.warn(line, TokenWithheld, stacklevel=2)
    return RepoClient.from_credentials(credentials, advice=IN_A_NOTEBOOK, timeout=timeout)


def secrets_of(client: RepoClient | None) -> tuple[str, ...]:
    """What must never be shown: the token (also as it appears inside index URLs)."""
    if client is None or not client.token:
        return ()
    return (client.token,)


def mask(text: str, secrets: tuple[str, ...] | RepoClient | None) -> str:
    """``text`` with every secret replaced by ``***``."""
    if isinstance(secrets, RepoClient) or secrets is None:
        secrets = secrets_of(secrets)
    return errors.mask(text, secrets)


def describe(
    error: BaseException,
    secrets: tuple[str, ...] | RepoClient | None = None,
    *,
    what: str | None = None,
) -> str:
    """One line for the user, without a traceback or a secret.

    A 404 from the repository reads "OWNER/NAME: not found, or not visible to you" (the
    server answers 404 for private packages of others, on purpose), client errors keep their
    message, anything else is "<Type>: <message>".
    """
    if isinstance(error, errors.NotFound) and what:
        text = f"{what}: {NOT_VISIBLE} ({error.message.rstrip('.')})."
    elif isinstance(error, errors.ClientError):
        text = error.message
    else:
        text = f"{type(error).__name__}: {error}" if str(error) else type(error).__name__
    return " ".join(mask(text, secrets).split())


@dataclass
class Connection:
    """A lazily made client, so a widget can show "no repository configured" in its status
    area instead of failing when it is created."""

    client: RepoClient | None = None
    url: str | None = None
    token: str | None = field(default=None, repr=False)
    timeout: float = DEFAULT_TIMEOUT

    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def get(self) -> RepoClient:
        """The client (made on first use, from any thread); raises ``NotConfigured``."""
        with self._lock:
            if self.client is None:
                self.client = connect(url=self.url, token=self.token, timeout=self.timeout)
            return self.client

    @property
    def secrets(self) -> tuple[str, ...]:
        found = secrets_of(self.client)
        return found + ((self.token,) if self.token and self.token not in found else ())

    def close(self) -> None:
        if self.client is not None:
            with contextlib.suppress(Exception):
                self.client.close()
