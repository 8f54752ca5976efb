"""The bundle file that carries a namespace across an air gap: an uncompressed tar.

Members, in this order: ``manifest.json`` (the domain's manifest,
``repository/services/bundles.py``), then one ``files/<sha256>`` per distinct file
content. Packages are already compressed, so the tar is not: it is written and read as a
stream, one chunk at a time, never a whole file in memory.

Export reads each blob with the store's streaming reader and checks its sha256 on the
way (a damaged store never makes a bundle that looks sound). Import never extracts: it
only accepts regular members named exactly as above, streams each into a spool of this
server (so nothing is ever written elsewhere, whatever a member is called), compares its
size and sha256 with the manifest, inspects it like an upload, stores it; only when every
member is verified are all rows created in one transaction. Any refusal or failure deletes
what the import had stored: nothing of a refused bundle stays, visible or not.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import tarfile
import time
from collections import deque
from collections.abc import Iterator
from concurrent.futures import Future
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import IO, Any

from jupyter_repo import bounded_json
from jupyter_repo.mirroring import bulk
from jupyter_repo.mirroring.sync import Progress, QuietProgress
from jupyter_repo.repository.core import Repository
from jupyter_repo.repository.errors import Conflict, InvalidInput
from jupyter_repo.repository.inspect import Limits, inspect_file
from jupyter_repo.repository.permissions import Actor
from jupyter_repo.repository.services import blobs, bundles, uploads
from jupyter_repo.repository.services.bundles import BundleRefused, ImportTarget, StoredBlob
from jupyter_repo.repository.storage import Spool

MANIFEST = "manifest.json"
MEMBER_RE = re.compile(r"files/([0-9a-f]{64})")
BLOCK = tarfile.BLOCKSIZE
CHUNK = 1 << 20
#: Defaults of the import's bounds (``ImportApp.max_manifest_bytes`` / ``max_files``).
MAX_MANIFEST_BYTES = 64 << 20
MAX_FILES = 100_000


@dataclass(frozen=True)
class ExportResult:
    path: Path
    files: int
    members: int
    bytes: int
    seconds: float


@dataclass(frozen=True)
class ImportResult:
    report: bundles.ImportReport
    members: int
    bytes_verified: int
    bytes_stored: int
    seconds: float
    #: Seconds per phase (``bulk.Phases``): where an import's time went.
    phases: dict[str, float] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        return {
            **self.report.as_dict(),
            "members": self.members,
            "bytes_verified": self.bytes_verified,
            "bytes_stored": self.bytes_stored,
            "seconds": round(self.seconds, 3),
            "phases": {name: round(value, 3) for name, value in self.phases.items()},
        }


# -- export ----------------------------------------------------------------------------------


def export_bundle(
    repo: Repository,
    actor: Actor,
    owner: str,
    output: Path,
    *,
    label: str | None = None,
    since: datetime | None = None,
    progress: Progress | None = None,
) -> ExportResult:
    """Write the bundle of ``owner`` (or one label of it) to ``output``. Blocking.

    Written to ``<output>.partial`` and renamed when complete, so a bundle that exists
    under its name is whole.
    """
    progress = progress or QuietProgress()
    started = time.monotonic()
    if output.exists():
        raise Conflict(f"{output} already exists; choose another name.")
    exported = repo.read(bundles.collect_export, actor, owner, label, since)
    manifest = json.dumps(bundles.manifest_to_json(exported.manifest), indent=1).encode()
    total = sum(blob.size for blob in exported.blobs)
    progress.planned(len(exported.blobs), total)
    partial = output.with_name(output.name + ".partial")
    mtime = int(exported.manifest.created.timestamp())
    written = 0
    try:
        with open(partial, "xb") as out:
            written += _write_member(out, MANIFEST, len(manifest), iter([manifest]), mtime)
            for blob in exported.blobs:
                digest = hashlib.sha256()
                chunks = _hashed(repo.store.open_range(blob.key), digest, progress)
                written += _write_member(out, f"files/{blob.sha256}", blob.size, chunks, mtime)
                if digest.hexdigest() != blob.sha256:
                    raise InvalidInput(
                        f"The stored bytes of {blob.name} do not match its sha256: this "
                        "server's store is damaged (run the consistency check); no bundle "
                        "was written."
                    )
                progress.file_done(blob.name)
            out.write(b"\0" * (2 * BLOCK))
            written += 2 * BLOCK
            pad = -written % tarfile.RECORDSIZE
            out.write(b"\0" * pad)
            out.flush()
            os.fsync(out.fileno())
        os.replace(partial, output)
    except BaseException:
        partial.unlink(missing_ok=True)
        raise
    files = sum(1 for _ in exported.manifest.files())
    return ExportResult(
        output, files, len(exported.blobs), written + pad, time.monotonic() - started
    )


def _hashed(chunks: Iterator[bytes], digest: Any, progress: Progress) -> Iterator[bytes]:
    for chunk in chunks:
        digest.update(chunk)
        progress.advanced(len(chunk))
        yield chunk


def _write_member(out: IO[bytes], name: str, size: int, chunks: Iterator[bytes], mtime: int) -> int:
    info = tarfile.TarInfo(name)
    info.size = size
    info.mtime = mtime
    info.mode = 0o644
    info.type = tarfile.REGTYPE
    header = info.tobuf(tarfile.PAX_FORMAT)
    out.write(header)
    count = 0
    for chunk in chunks:
        count += len(chunk)
        if count > size:
            break
        out.write(chunk)
    if count != size:
        raise InvalidInput(
            f"The stored bytes of {name} are not the {size} bytes its row says: this "
            "server's store is damaged; no bundle was written."
        )
    padding = -size % BLOCK
    out.write(b"\0" * padding)
    return len(header) + size + padding


# -- import ----------------------------------------------------------------------------------


def import_bundle(
    repo: Repository,
    path: Path,
    target: ImportTarget = ImportTarget(),
    *,
    max_manifest_bytes: int = MAX_MANIFEST_BYTES,
    max_files: int = MAX_FILES,
    inspect_processes: int | None = None,
    progress: Progress | None = None,
) -> ImportResult:
    """Verify every member of the bundle at ``path``, then apply it in one transaction.

    Blocking. Raises :class:`BundleRefused` (or the repository's errors, e.g. a
    ``Conflict``) with a message naming the problem; then nothing is stored.
    ``inspect_processes``: inspection processes (0: inline; ``None``: one per core when
    the bundle has at least ``bulk.POOL_THRESHOLD`` new files).
    """
    progress = progress or QuietProgress()
    started, cpu_started = time.monotonic(), time.process_time()
    phases = bulk.Phases()
    try:
        # "r:" reads an uncompressed tar only; members are looked up as they come.
        archive = tarfile.open(path, mode="r:")  # noqa: SIM115 - closed below
    except (tarfile.TarError, OSError) as error:
        raise BundleRefused(f"{path} is not a bundle (an uncompressed tar): {error}") from None
    stored: dict[str, StoredBlob] = {}
    inspections: dict[tuple[str, str, str], bundles.Inspected] = {}
    durable = bulk.DurableWrites(repo.store)
    queue: _Queue | None = None
    try:
        manifest = _read_manifest(archive, max_manifest_bytes, max_files)
        with phases("plan"):
            plan = repo.read(bundles.plan_import, manifest, target)
        expected = manifest.digests()
        by_digest: dict[str, list[tuple[str, str, bundles.FileEntry]]] = {}
        for package, release, entry in manifest.files():
            by_digest.setdefault(entry.sha256, []).append((package.name, release.version, entry))
        progress.planned(len(expected), sum(expected.values()))
        if inspect_processes is None:
            big = len(plan.new_digests) >= bulk.POOL_THRESHOLD
            inspect_processes = bulk.pool_size() if big else 0
        queue = _Queue(
            repo,
            bulk.Inspectors(inspect_processes),
            manifest.namespace,
            phases,
            durable,
            stored,
            inspections,
            chunk_files=CHUNK_FILES if inspect_processes else 1,
        )
        seen: set[str] = set()
        verified = 0
        for member in _members(archive):
            digest = _check_member(member, expected, seen)
            seen.add(digest)
            entries = by_digest[digest]
            if digest not in plan.new_digests:  # here already: verified, never stored
                with phases("read_hash"):
                    _verify_only(archive, member, digest, entries[0][2], progress)
                verified += member.size
                progress.file_done(entries[0][2].basename)
                continue
            with phases("read_hash"):
                spool = repo.store.new_spool(max(expected[digest], 1))
                try:
                    _copy_member(archive, member, spool, progress)
                    _verify(spool, digest, expected[digest], entries[0][2])
                except BaseException:
                    spool.discard()
                    raise
            verified += spool.size
            queue.add(_Pending(spool, digest, entries))
            progress.file_done(entries[0][2].basename)
        queue.finish()
        missing = sorted(set(expected) - seen)
        if missing:
            names = [by_digest[digest][0][2].basename for digest in missing]
            raise BundleRefused(
                f"The bundle is incomplete: its manifest names {len(missing)} file(s) it does "
                f"not hold ({', '.join(names[:3])}{', …' if len(names) > 3 else ''}); "
                "nothing was imported."
            )
        with phases("sync"):
            durable.wait()
        with phases("database"):
            report = repo.write(bundles.apply_import, repo, manifest, target, stored, inspections)
        phases.add("main_cpu", time.process_time() - cpu_started)  # all its threads
    except BaseException:
        if queue is not None:
            queue.close()
        for blob in stored.values():
            repo.store.delete(blob.key)
        raise
    finally:
        if queue is not None:
            queue.close()
        archive.close()
    return ImportResult(
        report,
        len(seen),
        verified,
        sum(blob.size for blob in stored.values()),
        time.monotonic() - started,
        phases.seconds,
    )


#: Files per inspection task (one pickling round trip each) and tasks in flight: bounds
#: the spools waiting on disk to CHUNK_FILES * (IN_FLIGHT + 1).
CHUNK_FILES = 32
IN_FLIGHT = 4


@dataclass
class _Pending:
    """A verified member in its spool, waiting for its inspection."""

    spool: Spool
    digest: str
    entries: list[tuple[str, str, bundles.FileEntry]]


class _Queue:
    """Verified members, inspected in chunks (inline or by ``bulk.Inspectors``), then moved
    into the store in order; at most ``IN_FLIGHT`` chunks wait for their inspection."""

    def __init__(
        self,
        repo: Repository,
        inspectors: bulk.Inspectors,
        owner: str,
        phases: bulk.Phases,
        durable: bulk.DurableWrites,
        stored: dict[str, StoredBlob],
        inspections: dict[tuple[str, str, str], bundles.Inspected],
        *,
        chunk_files: int,
    ) -> None:
        self.repo = repo
        self.inspectors = inspectors
        self.owner = owner
        self.limits = repo.limits
        self.phases = phases
        self.durable = durable
        self.stored = stored
        self.inspections = inspections
        self.chunk_files = chunk_files
        self.open: list[_Pending] = []
        self.in_flight: deque[tuple[list[_Pending], Future[_Inspected]]] = deque()

    def add(self, item: _Pending) -> None:
        self.open.append(item)
        if len(self.open) >= self.chunk_files:
            self._submit()
        while len(self.in_flight) > IN_FLIGHT or (self.in_flight and self.in_flight[0][1].done()):
            self._store(*self.in_flight.popleft())

    def finish(self) -> None:
        if self.open:
            self._submit()
        while self.in_flight:
            self._store(*self.in_flight.popleft())

    def close(self) -> None:
        """Stop the inspectors; delete every spool not yet stored."""
        self.inspectors.close()
        for item in self.open:
            item.spool.discard()
        for chunk, _future in self.in_flight:
            for item in chunk:
                item.spool.discard()
        self.open, self.in_flight = [], deque()

    def _submit(self) -> None:
        chunk, self.open = self.open, []
        work = [(item.spool.path, item.entries) for item in chunk]
        with self.phases("inspect_submit"):
            future = self.inspectors.submit(_inspect_chunk, work, self.owner, self.limits)
        self.in_flight.append((chunk, future))

    def _store(self, chunk: list[_Pending], future: Future[_Inspected]) -> None:
        """Collect a chunk's inspections, move its spools into the store (durable later)."""
        try:
            with self.phases("inspect_wait"):
                results, cpu = future.result()
            # In the pool, inspection is CPU beside this process's; inline, part of it.
            self.phases.add("inspect_cpu" if self.inspectors.pooled else "inspect_cpu_inline", cpu)
            self.inspections.update(results)
            with self.phases("store"):
                for item in chunk:
                    spool = item.spool
                    blob_id, blob_key = blobs.store_spool(self.repo.store, spool.path)
                    self.stored[item.digest] = StoredBlob(
                        blob_id, blob_key, spool.size, spool.md5, item.digest
                    )
                    self.durable.add(blob_key)
        finally:
            for item in chunk:
                item.spool.discard()


#: What an inspection task returns: the inspections by (package key, version, basename),
#: and the CPU seconds it used (phases report them: the pool's work is not the caller's).
_Inspected = tuple[list[tuple[tuple[str, str, str], bundles.Inspected]], float]


def _inspect_chunk(
    work: list[tuple[Path, list[tuple[str, str, bundles.FileEntry]]]],
    owner: str,
    limits: Limits,
) -> _Inspected:
    started = time.thread_time()
    results = [
        item for path, entries in work for item in _inspect_all(path, owner, entries, limits)
    ]
    return results, time.thread_time() - started


def _inspect_all(
    path: Path,
    owner: str,
    entries: list[tuple[str, str, bundles.FileEntry]],
    limits: Limits,
) -> list[tuple[tuple[str, str, str], bundles.Inspected]]:
    """Inspect the verified bytes like an upload, once per manifest entry naming them (in
    an inspection process, or inline)."""
    return [
        (
            (bundles.package_key(name), version, entry.basename),
            _inspect(path, owner, name, version, entry, limits),
        )
        for name, version, entry in entries
    ]


def _members(archive: tarfile.TarFile) -> Iterator[tarfile.TarInfo]:
    while True:
        try:
            member = archive.next()
        except tarfile.TarError as error:
            raise BundleRefused(f"The bundle is damaged: {error}; nothing was imported.") from None
        if member is None:
            return
        yield member


def _read_manifest(
    archive: tarfile.TarFile, max_manifest_bytes: int, max_files: int
) -> bundles.Manifest:
    first = next(_members(archive), None)
    if first is None or first.name != MANIFEST or not _is_plain_file(first):
        raise BundleRefused(
            f"The bundle must begin with a plain file {MANIFEST!r}; "
            f"it begins with {first.name if first else 'nothing'!r}. Nothing was imported."
        )
    if first.size > max_manifest_bytes:
        raise BundleRefused(
            f"The bundle's manifest has {first.size} bytes, more than this server's limit of "
            f"{max_manifest_bytes} (ImportApp.max_manifest_bytes). Nothing was imported."
        )
    reader = archive.extractfile(first)
    assert reader is not None
    data = reader.read(max_manifest_bytes + 1)
    try:
        parsed = bounded_json.loads(data)
    except bounded_json.JSONRefused as error:
        raise BundleRefused(f"The bundle's manifest is not valid JSON: {error}.") from None
    return bundles.manifest_from_json(parsed, max_files=max_files)


def _is_plain_file(member: tarfile.TarInfo) -> bool:
    """A regular file, nothing else: no link, directory, device or sparse file."""
    return member.type in (tarfile.REGTYPE, tarfile.AREGTYPE) and not member.issparse()


def _check_member(member: tarfile.TarInfo, expected: dict[str, int], seen: set[str]) -> str:
    match = MEMBER_RE.fullmatch(member.name)
    if match is None or not _is_plain_file(member):
        kind = "a link" if member.issym() or member.islnk() else "an entry"
        raise BundleRefused(
            f"The bundle holds {kind} {member.name!r} that is not one of its files "
            "(a regular 'files/<sha256>'); nothing was imported."
        )
    digest = match.group(1)
    if digest not in expected:
        raise BundleRefused(
            f"The bundle holds a file {member.name!r} its manifest does not list; "
            "nothing was imported."
        )
    if digest in seen:
        raise BundleRefused(f"The bundle holds {member.name!r} twice; nothing was imported.")
    if member.size != expected[digest]:
        raise BundleRefused(
            f"The bundle's member {member.name!r} has {member.size} bytes, its manifest says "
            f"{expected[digest]}; nothing was imported."
        )
    return digest


def _copy_member(
    archive: tarfile.TarFile, member: tarfile.TarInfo, spool: Spool, progress: Progress
) -> None:
    reader = archive.extractfile(member)
    assert reader is not None
    while chunk := reader.read(CHUNK):
        spool.write(chunk)
        progress.advanced(len(chunk))
    spool.finish(sync=False)  # made durable with the batch (bulk.DurableWrites)


def _verify_only(
    archive: tarfile.TarFile,
    member: tarfile.TarInfo,
    digest: str,
    entry: bundles.FileEntry,
    progress: Progress,
) -> None:
    """Check a member this server already holds: hashed as it streams, written nowhere."""
    reader = archive.extractfile(member)
    assert reader is not None
    sha256, md5, size = hashlib.sha256(), hashlib.md5(usedforsecurity=False), 0
    while chunk := reader.read(CHUNK):
        sha256.update(chunk)
        md5.update(chunk)
        size += len(chunk)
        progress.advanced(len(chunk))
    if size != member.size or sha256.hexdigest() != digest or md5.hexdigest() != entry.md5:
        raise _damaged(entry)


def _damaged(entry: bundles.FileEntry) -> BundleRefused:
    return BundleRefused(
        f"The bundle's copy of {entry.basename} is damaged: its bytes do not match the "
        "sha256 (or size, md5) its manifest gives. Nothing was imported."
    )


def _verify(spool: Spool, digest: str, size: int, entry: bundles.FileEntry) -> None:
    if spool.size != size or spool.sha256 != digest or spool.md5 != entry.md5:
        raise _damaged(entry)


def _inspect(
    path: Path,
    owner: str,
    package: str,
    version: str,
    entry: bundles.FileEntry,
    limits: Limits,
) -> bundles.Inspected:
    """Inspect the verified bytes like an upload: the rows say what the file says."""
    target = uploads.parse_target(owner, package, version, entry.basename, entry.distribution_type)
    inspection = inspect_file(path, target.distribution_type, target.filename, limits)
    uploads.check_agreement(target, inspection)
    return target, inspection
