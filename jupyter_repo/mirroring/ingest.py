"""Storing a file fetched from an upstream: verified first, then an ordinary upload.

The bytes stream into a spool while they arrive; the spool's sha256 and size must equal
what the upstream's index promised, or nothing is stored (the spool is discarded and the
error names the URL). A verified file goes through ``uploads.ingest_direct``, so it is
inspected, stored and indexed exactly like an upload, marked with its mirror and URL.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from jupyter_repo.mirroring.upstream import Upstream, UpstreamError
from jupyter_repo.repository.core import Repository
from jupyter_repo.repository.permissions import Actor
from jupyter_repo.repository.services import uploads
from jupyter_repo.repository.services.mirrors import clean_url


@dataclass(frozen=True)
class UpstreamFile:
    """A file an upstream index lists, with what it promises about it."""

    url: str
    package: str
    version: str
    basename: str
    distribution_type: str
    sha256: str | None
    size: int | None
    summary: str | None = None


def fetch_and_ingest(
    repo: Repository,
    actor: Actor,
    upstream: Upstream,
    owner: str,
    mirror_id: int,
    item: UpstreamFile,
    *,
    labels: tuple[str, ...],
    public: bool,
    on_bytes: Callable[[int], None] | None = None,
) -> dict[str, object]:
    """Download ``item``, check it against the upstream's sha256 and size, ingest it.

    Blocking (call it on a worker thread). Raises :class:`UpstreamError` for a failed or
    mismatching download, and the repository's own errors for what an upload refuses.
    """
    options = uploads.DirectOptions(
        distribution_type=item.distribution_type,
        labels=labels,
        public=public,
        summary=item.summary,
        origin_mirror_id=mirror_id,
        origin_url=clean_url(upstream.url(item.url)),
    )
    target = repo.read(
        uploads.precheck_direct,
        repo,
        actor,
        owner,
        item.package,
        item.version,
        item.basename,
        options,
    )
    spool = repo.store.new_spool(repo.max_upload_size)
    try:
        upstream.download(item.url, spool.write, on_bytes=on_bytes)
        spool.finish()
        if item.size is not None and spool.size != item.size:
            raise UpstreamError(
                upstream.url(item.url), f"sent {spool.size} bytes, its index says {item.size}"
            )
        if item.sha256 is not None and spool.sha256 != item.sha256.lower():
            raise UpstreamError(
                upstream.url(item.url), "sent bytes whose sha256 differs from its index"
            )
    except BaseException:
        spool.discard()
        raise
    return uploads.ingest_direct(repo, actor, target, spool, options)
