"""Mirroring a conda channel: each subdir's repodata, filtered, then only the missing files.

Per subdir: a conditional GET of ``<subdir>/repodata.json`` with the validators the last
complete sync kept (a 304 ends the subdir: no file is requested); the records of both
``packages`` and ``packages.conda`` go through the mirror's filters (``conda_filters``);
files the namespace already holds with the same sha256 are skipped, one held with another
sha256 is a reported conflict (never overwritten); the rest are fetched on a small thread
pool, each verified and ingested in its own transaction (``ingest.fetch_and_ingest``), so
an interrupted sync leaves whole files and the next one fetches only the rest. With
``keep_removed`` off, this mirror's files the upstream no longer offers leave its label.
"""

from __future__ import annotations

import hashlib
import json
import threading
from concurrent.futures import FIRST_EXCEPTION, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass
from typing import Any
from urllib.parse import urljoin, urlsplit

from sqlalchemy import select
from sqlalchemy.orm import Session

from jupyter_repo.mirroring import conda_filters
from jupyter_repo.mirroring.conda_filters import Record
from jupyter_repo.mirroring.ingest import UpstreamFile, fetch_and_ingest
from jupyter_repo.mirroring.sync import SyncContext, SyncInterrupted
from jupyter_repo.mirroring.upstream import UpstreamError, Validators
from jupyter_repo.repository import names
from jupyter_repo.repository.errors import InvalidInput, RepositoryError
from jupyter_repo.repository.models import File, FileLabel, Label, Package
from jupyter_repo.repository.services import accounts, labels
from jupyter_repo.repository.services.mirrors import MirrorConfig, mask_url

#: The largest repodata.json a sync reads (conda-forge's linux-64 is ~300 MB uncompressed).
MAX_REPODATA_BYTES = 2 << 30


@dataclass(frozen=True)
class Held:
    """A conda file the namespace already holds under a subdir/filename."""

    file_id: int
    package_id: int
    sha256: str
    origin_mirror_id: int | None
    on_label: bool


@dataclass
class Plan:
    """One subdir's work: files to fetch, files to take off the label, conflicts."""

    fetch: list[UpstreamFile]
    remove: list[Held]
    #: Held with the upstream's bytes but not on the mirror's label (uploaded here, or
    #: pruned and offered again): they get the label, nothing is fetched.
    relabel: list[Held]
    skipped: int
    conflicts: list[str]


def filters_fingerprint(config: MirrorConfig) -> str:
    """Changes when the filters do: validators kept under other filters are not reused."""
    return hashlib.sha256(json.dumps(config.to_json(), sort_keys=True).encode()).hexdigest()[:16]


def held_files(session: Session, owner: str, subdir: str, label: str) -> dict[str, Held]:
    """The namespace's conda files of one subdir, by file name, and whether they carry
    ``label``."""
    account = accounts.get_account(session, owner)
    on_label = (
        select(FileLabel.file_id)
        .join(Label, Label.id == FileLabel.label_id)
        .where(Label.owner_id == account.id, Label.name == label)
    )
    rows = session.execute(
        select(
            File.filename,
            File.id,
            File.package_id,
            File.sha256,
            File.origin_mirror_id,
            File.id.in_(on_label),
        )
        .join(Package, Package.id == File.package_id)
        .where(
            Package.owner_id == account.id,
            File.subdir == subdir,
            File.distribution_type == "conda",
        )
    ).all()
    return {row[0]: Held(row[1], row[2], row[3], row[4], bool(row[5])) for row in rows}


def _upstream_file(record: Record, base: str) -> UpstreamFile:
    data = record.data
    sha256 = data.get("sha256")
    size = data.get("size")
    return UpstreamFile(
        url=urljoin(base, record.filename),
        package=record.name,
        version=record.version,
        basename=record.basename,
        distribution_type="conda",
        sha256=sha256 if isinstance(sha256, str) else None,
        size=size if isinstance(size, int) else None,
        summary=None,
    )


def _file_base(subdir: str, repodata: dict[str, Any]) -> str:
    """Where a subdir's files are: the subdir itself, or ``info.base_url`` (CEP-15)."""
    info = repodata.get("info") or {}
    base = info.get("base_url") if isinstance(info, dict) else None
    if isinstance(base, str) and base:
        return urljoin(f"{subdir}/", base if base.endswith("/") else base + "/")
    return f"{subdir}/"


def _origin(url: str) -> tuple[str, str]:
    parts = urlsplit(url)
    return parts.scheme, parts.netloc.rsplit("@", 1)[-1].lower()


def _refusal(record: Record, url: str, origin: tuple[str, str]) -> str:
    """Why a record's file is not fetched at all ("" when it may be): a name that is no
    plain file name, or a URL (``info.base_url``) on another server than the upstream."""
    try:
        names.filename(record.filename)
    except InvalidInput as error:
        return f"refused, {error.message}"
    if _origin(url) != origin:
        return f"refused, {mask_url(url)} is not on the upstream's server"
    return ""


def plan_subdir(
    context: SyncContext, subdir: str, repodata: dict[str, Any], held: dict[str, Held]
) -> Plan:
    """Compare the filtered upstream with what the namespace holds."""
    selection = conda_filters.select(conda_filters.records(subdir, repodata), context.config)
    context.report.filtered_out += selection.filtered_out
    base = _file_base(subdir, repodata)
    fetch, conflicts, relabel = [], [], []
    skipped = 0
    offered = set()
    origin = _origin(context.upstream.base_url)
    for record in selection.kept:
        offered.add(record.filename)
        item = _upstream_file(record, base)
        refusal = _refusal(record, context.upstream.url(item.url), origin)
        if refusal:
            conflicts.append(f"{record.basename}: {refusal}")
            continue
        existing = held.get(record.filename)
        if existing is None:
            fetch.append(item)
        elif item.sha256 is None or existing.sha256 == item.sha256.lower():
            skipped += 1
            if not existing.on_label:
                relabel.append(existing)
        else:
            conflicts.append(
                f"{record.basename}: the namespace holds a file of this name with another "
                f"sha256 than {context.upstream.url(item.url)}; kept as it is"
            )
    remove = []
    if not context.config.keep_removed:
        remove = [
            existing
            for filename, existing in held.items()
            if filename not in offered
            and existing.origin_mirror_id == context.mirror_id
            and existing.on_label
        ]
    return Plan(fetch, remove, relabel, skipped, conflicts)


def _take_off_label(session: Session, context: SyncContext, held: Held) -> str:
    file = session.get(File, held.file_id)
    package = session.get(Package, held.package_id)
    account = accounts.get_account(session, context.owner)
    label = labels.find_label(session, account, context.label)
    if file is not None and package is not None and label is not None:
        labels.detach(session, file, package, label)
    return file.basename if file is not None else str(held.file_id)


def _put_on_label(session: Session, context: SyncContext, held: Held) -> None:
    file = session.get(File, held.file_id)
    package = session.get(Package, held.package_id)
    if file is not None and package is not None:
        account = accounts.get_account(session, context.owner)
        labels.attach(
            session, file, package, labels.ensure_label(session, account.id, context.label)
        )


def _fetch_all(context: SyncContext, items: list[UpstreamFile], threads: int) -> None:
    """Fetch and ingest ``items`` on ``threads`` workers; per-file failures are reported."""
    report, progress = context.report, context.progress
    lock = threading.Lock()

    def one(item: UpstreamFile) -> None:
        if context.stop.is_set():
            raise SyncInterrupted("the sync was asked to stop")
        try:
            fetch_and_ingest(
                context.repo,
                context.actor,
                context.upstream,
                context.owner,
                context.mirror_id,
                item,
                labels=(context.label,),
                public=context.config.public,
                on_bytes=progress.advanced,
            )
        except (UpstreamError, RepositoryError) as error:
            with lock:
                report.failed.append(f"{item.basename}: {getattr(error, 'message', error)}")
            return
        with lock:
            report.fetched.append(item.basename)
            report.fetched_bytes += item.size or 0
        progress.file_done(item.basename)

    pool = ThreadPoolExecutor(max(1, threads), thread_name_prefix="jupyter-repo-mirror")
    futures: list[Future[None]] = [pool.submit(one, item) for item in items]
    try:
        done, _pending = wait(futures, return_when=FIRST_EXCEPTION)
        for future in done:
            failure = future.exception()
            if failure is not None:
                raise failure
    except BaseException:  # a file's unexpected error, Ctrl-C: stop between files
        context.stop.set()
        for future in futures:
            future.cancel()
        raise
    finally:
        pool.shutdown(wait=True)


def sync_conda(context: SyncContext) -> dict[str, Any]:
    """Sync every configured subdir; returns the state (validators) the next sync uses."""
    fingerprint = filters_fingerprint(context.config)
    previous = dict(context.state.get("subdirs") or {})
    new_state: dict[str, Any] = {}
    plans: list[tuple[str, Plan, Validators]] = []
    for subdir in context.config.subdirs:
        kept = previous.get(subdir) or {}
        validators = None
        if kept.get("filters") == fingerprint:
            validators = Validators(kept.get("etag"), kept.get("last_modified"))
        fetched = context.upstream.get_document(
            f"{subdir}/repodata.json", validators, max_size=MAX_REPODATA_BYTES
        )
        if fetched.not_modified:
            context.progress.note(f"{subdir}: unchanged upstream (304)")
            new_state[subdir] = kept
            continue
        try:
            repodata = json.loads(fetched.body)
        except ValueError:
            raise UpstreamError(fetched.url, "sent a repodata.json that is not JSON") from None
        if not isinstance(repodata, dict):
            raise UpstreamError(fetched.url, "sent a repodata.json that is not an object")
        held = context.repo.read(held_files, context.owner, subdir, context.label)
        plans.append((subdir, plan_subdir(context, subdir, repodata, held), fetched.validators))

    report = context.report
    to_fetch = [item for _subdir, plan, _v in plans for item in plan.fetch]
    for _subdir, plan, _v in plans:
        report.skipped += plan.skipped
        report.failed.extend(plan.conflicts)
    if context.dry_run:
        report.fetched = [item.basename for item in to_fetch]
        report.fetched_bytes = sum(item.size or 0 for item in to_fetch)
        report.removed = [
            name for _subdir, plan, _v in plans for name in _held_names(plan.remove, context)
        ]
        return dict(context.state)

    context.progress.planned(len(to_fetch), sum(item.size or 0 for item in to_fetch))
    failed_before = len(report.failed)
    _fetch_all(context, to_fetch, context.parallel)
    failed_names = {line.split(":", 1)[0] for line in report.failed[failed_before:]}
    for subdir, plan, validators in plans:
        for same in plan.relabel:
            try:
                context.repo.write(_put_on_label, context, same)
            except RepositoryError as error:
                report.failed.append(f"file {same.file_id}: {error.message}")
        for gone in plan.remove:
            try:
                report.removed.append(context.repo.write(_take_off_label, context, gone))
            except RepositoryError as error:
                report.failed.append(f"file {gone.file_id}: {error.message}")
        if any(name.startswith(f"{subdir}/") for name in failed_names):
            continue  # the next sync fetches this subdir's repodata again and retries
        new_state[subdir] = {
            "etag": validators.etag,
            "last_modified": validators.last_modified,
            "filters": fingerprint,
        }
    return {**context.state, "subdirs": new_state}


def _held_names(held: list[Held], context: SyncContext) -> list[str]:
    ids = [item.file_id for item in held]
    if not ids:
        return []
    return context.repo.read(
        lambda session: [
            name for name in session.scalars(select(File.basename).where(File.id.in_(ids)))
        ]
    )
