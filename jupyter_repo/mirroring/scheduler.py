"""Scheduled syncs inside ``jupyter repo serve``: mirrors with ``--every`` run when due.

The event loop only starts a check; the check and every sync run on one worker thread of
their own, never on the loop and never on the request threads. ``mirrors.claim`` keeps
two server processes (or a cron job) from syncing one mirror at once. Shutting down sets
``stop``: the running sync ends between two files and releases its claim.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import threading
from concurrent.futures import Future, ThreadPoolExecutor

from sqlalchemy.orm import Session

from jupyter_repo.mirroring.sync import DEFAULT_PARALLEL, QuietProgress, SyncInterrupted, run_sync
from jupyter_repo.mirroring.upstream import UpstreamError
from jupyter_repo.repository.core import Repository
from jupyter_repo.repository.errors import Conflict, RepositoryError
from jupyter_repo.repository.models import Mirror
from jupyter_repo.repository.services import mirrors


class MirrorScheduler:
    """Runs the due mirrors' syncs one after another on a thread of its own."""

    def __init__(
        self, repo: Repository, log: logging.Logger, *, parallel: int = DEFAULT_PARALLEL
    ) -> None:
        self.repo = repo
        self.log = log
        self.parallel = parallel
        self.stop = threading.Event()
        self.executor = ThreadPoolExecutor(1, thread_name_prefix="jupyter-repo-mirror-sync")
        self.running: Future[None] | None = None

    def tick(self) -> None:
        """Called on the event loop: start a round unless one is still running."""
        if self.stop.is_set() or (self.running is not None and not self.running.done()):
            return
        self.running = self.executor.submit(self.run_due)

    def run_due(self) -> None:
        """One round (worker thread): sync every mirror whose schedule says it is due."""
        try:
            due = self.repo.read(_due_names)
        except Exception:
            self.log.exception("mirror schedule: cannot list the due mirrors")
            return
        for owner, name in due:
            if self.stop.is_set():
                return
            try:
                report = run_sync(
                    self.repo,
                    owner,
                    name,
                    progress=QuietProgress(),
                    parallel=self.parallel,
                    stop=self.stop,
                )
            except Conflict:
                continue  # another process syncs it now
            except SyncInterrupted:
                self.log.info("mirror %s/%s: sync stopped by the shutdown", owner, name)
                return
            except (UpstreamError, RepositoryError) as error:
                self.log.warning("mirror %s/%s: sync failed: %s", owner, name, error)
                continue
            except Exception:
                self.log.exception("mirror %s/%s: sync failed", owner, name)
                continue
            summary = report.as_dict()
            self.log.info(
                "mirror %s/%s synced: %d fetched, %d already here, %d failed, %d requests",
                owner,
                name,
                summary["fetched"],
                summary["skipped"],
                len(report.failed),
                summary["requests"],
            )

    async def close(self, timeout: float = 10.0) -> None:
        """Stop between two files and wait (a little) for the sync to record its end, so
        that its claim is released before the repository closes."""
        self.stop.set()
        if self.running is not None and not self.running.done():
            with contextlib.suppress(Exception):
                await asyncio.wait_for(asyncio.wrap_future(self.running), timeout)
        self.executor.shutdown(wait=False, cancel_futures=True)


def _due_names(session: Session) -> list[tuple[str, str]]:
    result = []
    for mirror_id in mirrors.due_mirrors(session):
        mirror = session.get(Mirror, mirror_id)
        if mirror is not None and mirror.mode == "mirror":
            result.append((mirror.owner.login, mirror.name))
    return result
