"""What every install step shares: one repository (a client and its token), one target,
where the lines and steps are reported, and the event that cancels."""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

from jupyter_repo.client import errors
from jupyter_repo.client.api import JSON, RepoClient
from jupyter_repo.client.install.pip import Log, index_with_credentials, pip_install
from jupyter_repo.client.install.targets import Target
from jupyter_repo.client.refs import Ref

#: ``progress(fraction or None when unknown, what is happening)``.
Progress = Callable[[float | None, str], None]


class Context:
    """Installs from one repository into one target.

    ``log`` receives every output line (pip's, rattler's), ``progress`` the steps, and
    setting ``stop`` cancels (pip is killed; ``Cancelled`` is raised).
    """

    def __init__(
        self,
        client: RepoClient,
        target: Target,
        *,
        log: Log | None = None,
        progress: Progress | None = None,
        extra_index_urls: tuple[str, ...] = (),
        stop: threading.Event | None = None,
        pypi_fallback: bool = True,
    ) -> None:
        self.client = client
        self.target = target
        self.log = log or (lambda _line: None)
        self.progress = progress or (lambda _fraction, _message: None)
        self.extra_index_urls = tuple(extra_index_urls)
        self.stop = stop or threading.Event()
        #: Environments: PyPI next to the owner's index (off: the owner's index only).
        self.pypi_fallback = pypi_fallback

    @property
    def secrets(self) -> tuple[str, ...]:
        """What never reaches a log line or an error: the token."""
        return (self.client.token,) if self.client.token else ()

    def check_stop(self) -> None:
        if self.stop.is_set():
            raise errors.Cancelled("The installation was cancelled.")

    def package(self, ref: Ref) -> JSON:
        """The package ``ref`` names; ``NotFound`` when it lacks the version asked for."""
        package = self.client.package(ref.owner, ref.name)
        versions = [str(version) for version in package.get("versions", [])]
        if ref.version and ref.version not in versions:
            raise errors.NotFound(
                f"{ref.owner}/{ref.name} has no version {ref.version}; it has "
                f"{', '.join(versions) or 'no versions'}."
            )
        return package

    def index(self, owner: str, label: str | None = None) -> str:
        """The owner's PyPI index, carrying the token (pip hides it)."""
        return index_with_credentials(
            self.client.pypi_index(owner, label), self.client.token, self.client.url
        )

    def environment_indexes(self, owner: str) -> dict[str, Any]:
        """pip's indexes for an environment of ``owner``: the namespace's index (with the
        token) next to PyPI, or alone when ``pypi_fallback`` is off."""
        if self.pypi_fallback:
            return {"extra_index_urls": (self.index(owner), *self.extra_index_urls)}
        return {"index_url": self.index(owner), "extra_index_urls": self.extra_index_urls}

    def pip(self, arguments: list[str], *, log: Log | None = None, **indexes: Any) -> None:
        """``pip install <arguments>`` into the target, cancellable, the token masked."""
        pip_install(
            self.target,
            arguments,
            log=log or self.log,
            stop=self.stop,
            secrets=self.secrets,
            **indexes,
        )
