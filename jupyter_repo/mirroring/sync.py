"""One sync of a mirror: claim it, run the syncer of its kind, record what happened.

A syncer (``conda.py``, ``pypi.py``) gets a :class:`SyncContext` and answers a
:class:`SyncReport` and the state the next sync starts from. Each file it stores is one
ordinary upload transaction, so an interrupted sync leaves only whole, verified files, and
the next sync (which skips what is already stored) resumes where it stopped.
"""

from __future__ import annotations

import importlib
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Protocol

from sqlalchemy.orm import Session

from jupyter_repo.mirroring.upstream import Upstream, UpstreamError
from jupyter_repo.repository.core import Repository
from jupyter_repo.repository.errors import Conflict, RepositoryError
from jupyter_repo.repository.models import Mirror
from jupyter_repo.repository.permissions import Actor
from jupyter_repo.repository.services import mirrors
from jupyter_repo.repository.services.mirrors import MirrorConfig

#: The syncer of each kind, by import path (a sync imports only what it runs).
SYNCERS = {
    "conda": "jupyter_repo.mirroring.conda:sync_conda",
    "pypi": "jupyter_repo.mirroring.pypi:sync_pypi",
}
#: How long a sync claims its mirror; a crashed sync's claim lapses after this.
CLAIM_SECONDS = 3600
#: Files a sync fetches at once (``mirror sync --parallel``, ``ServeApp.mirror_sync_threads``).
DEFAULT_PARALLEL = 4


class SyncInterrupted(Exception):
    """A sync stopped before its end (the server is shutting down); what it stored stays."""


class Progress(Protocol):
    """What a sync reports while it runs (the CLI draws bars; the scheduler logs)."""

    def planned(self, files: int, total_bytes: int) -> None: ...

    def advanced(self, received: int) -> None: ...

    def file_done(self, name: str) -> None: ...

    def note(self, message: str) -> None: ...


class QuietProgress:
    """A progress that only keeps notes (for the server's scheduler and tests)."""

    def __init__(self) -> None:
        self.notes: list[str] = []

    def planned(self, files: int, total_bytes: int) -> None:
        pass

    def advanced(self, received: int) -> None:
        pass

    def file_done(self, name: str) -> None:
        pass

    def note(self, message: str) -> None:
        self.notes.append(message)


@dataclass
class SyncReport:
    """What a sync did (or, with ``dry_run``, would do)."""

    dry_run: bool = False
    fetched: list[str] = field(default_factory=list)
    fetched_bytes: int = 0
    skipped: int = 0
    filtered_out: int = 0
    removed: list[str] = field(default_factory=list)
    failed: list[str] = field(default_factory=list)
    requests: int = 0
    bytes_received: int = 0
    seconds: float = 0.0

    def as_dict(self) -> dict[str, Any]:
        return {
            "dry_run": self.dry_run,
            "fetched": len(self.fetched),
            "fetched_bytes": self.fetched_bytes,
            "skipped": self.skipped,
            "filtered_out": self.filtered_out,
            "removed": len(self.removed),
            "failed": self.failed,
            "requests": self.requests,
            "bytes_received": self.bytes_received,
            "seconds": round(self.seconds, 3),
        }


@dataclass
class SyncContext:
    """Everything a syncer needs; the mirror's row stays in the database."""

    repo: Repository
    mirror_id: int
    owner: str
    name: str
    label: str
    upstream: Upstream
    config: MirrorConfig
    state: dict[str, Any]
    actor: Actor
    dry_run: bool
    progress: Progress
    report: SyncReport
    #: Files fetched at once.
    parallel: int = DEFAULT_PARALLEL
    #: Set to stop the sync between files (the server's shutdown).
    stop: threading.Event = field(default_factory=threading.Event)


Syncer = Callable[[SyncContext], dict[str, Any]]


def syncer_for(kind: str) -> Syncer:
    module_name, function_name = SYNCERS[kind].split(":")
    function: Syncer = getattr(importlib.import_module(module_name), function_name)
    return function


def _load(session: Session, owner: str, name: str) -> tuple[Mirror, Actor]:
    mirror = mirrors.get_mirror(session, mirrors.OPERATOR, owner, name)
    return mirror, mirrors.mirror_actor(session, mirror)


def run_sync(
    repo: Repository,
    owner: str,
    name: str,
    *,
    dry_run: bool = False,
    progress: Progress | None = None,
    parallel: int = DEFAULT_PARALLEL,
    force: bool = False,
    stop: threading.Event | None = None,
) -> SyncReport:
    """Sync one mirror now (blocking). Raises ``Conflict`` when another sync holds it.

    ``force`` takes over the claim of a sync that crashed (its claim would lapse only
    after ``CLAIM_SECONDS``); ``stop`` ends the sync between two files.
    """
    progress = progress or QuietProgress()
    mirror, actor = repo.read(_load, owner, name)
    if mirror.mode != "mirror":
        raise Conflict(f"{owner}/{name} is a proxy: it fetches on request, there is no sync.")
    mirror_id = mirror.id
    if not dry_run and not repo.write(
        lambda s: mirrors.claim(s, mirror_id, CLAIM_SECONDS, force=force)
    ):
        raise Conflict(
            f"A sync of {owner}/{name} is already running. If it crashed, its claim lapses "
            f"{CLAIM_SECONDS // 60} minutes after it started; --force takes it over now."
        )
    report = SyncReport(dry_run=dry_run)
    upstream = Upstream(mirror.upstream_url)
    context = SyncContext(
        repo=repo,
        mirror_id=mirror_id,
        owner=owner,
        name=name,
        label=mirror.label,
        upstream=upstream,
        config=mirrors.config_of(mirror),
        state=dict(mirror.state or {}),
        actor=actor,
        dry_run=dry_run,
        progress=progress,
        report=report,
        parallel=parallel,
        stop=stop or threading.Event(),
    )
    started = time.monotonic()
    state: dict[str, Any] | None = None
    error: str | None = None
    try:
        state = syncer_for(mirror.kind)(context)
        if report.failed:  # what did not fail is kept; ``mirror list`` shows what did
            error = f"{len(report.failed)} failed, the first: {report.failed[0]}"
    except (UpstreamError, RepositoryError, SyncInterrupted) as failure:
        error = str(failure)
        raise
    finally:
        report.seconds = time.monotonic() - started
        report.requests = upstream.requests
        report.bytes_received = upstream.bytes_received
        upstream.close()
        if not dry_run:
            if error is None and state is None:
                error = "interrupted"
            repo.write(lambda s: mirrors.finish_sync(s, mirror_id, state, error))
    return report
