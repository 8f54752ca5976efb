"""``channeldata.json`` (CEP 38): a channel's packages across its subdirs, built on demand.

Neither conda nor rattler reads it, so it is never built eagerly: :class:`ChanneldataCache`
builds it on request from one query and keeps it per view, keyed by the sum of the label's
conda index revisions (which grows with any change to any of them).

The document follows conda-index's rules, applied to the fields each file had at upload
(``inspect/condachannel.py``): subdirs in name order; in each, the newest build (by
``timestamp``) of every name and version; a package takes each field of its newest version
(conda version order; equal versions: the later timestamp) that has it, else the field of
an older one; the prefix, activation and link-script flags are true when any version's are;
``run_exports`` is kept per version; ``timestamp`` is the newest in seconds. conda-index
means that last one too, but reads the previous value from the wrong mapping, so its
``timestamp`` is in effect the last version it happened to visit.
"""

from __future__ import annotations

import hashlib
import json
import threading
from collections import OrderedDict
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from rattler import Version
from sqlalchemy import Text, case, func, select, type_coerce
from sqlalchemy.orm import Session

from jupyter_repo.repository.inspect.condachannel import FLAGS, NEWEST_FIELDS
from jupyter_repo.repository.models import File, FileLabel, IndexState, Label, Package

CHANNELDATA_VERSION = 1
#: Later than 9999-12-31 in seconds: a timestamp in milliseconds (as conda-index reads it).
_LAST_SECOND = 253402300799


@dataclass(frozen=True)
class ChanneldataRow:
    """One conda file of the channel and its channeldata fields."""

    subdir: str
    filename: str
    #: ``name``, ``version``, ``timestamp``, flags, ``run_exports`` and the about fields.
    fields: dict[str, Any]


def seconds(timestamp: Any) -> int:
    value = int(timestamp) if isinstance(timestamp, (int, float)) else 0
    return value // 1000 if value > _LAST_SECOND else value


def _version(text: str) -> Version | None:
    try:
        return Version(text)
    except Exception:  # not a conda version: ordered before every valid one
        return None


def _is_newer(data: dict[str, Any], known: dict[str, Any]) -> bool:
    new, old = str(data.get("version", "0")), str(known.get("version", "0"))
    if new == old:
        return seconds(data.get("timestamp")) > seconds(known.get("timestamp"))
    parsed_new, parsed_old = _version(new), _version(old)
    if parsed_new is None or parsed_old is None:
        return parsed_old is None and (parsed_new is not None or new > old)
    return parsed_new > parsed_old


def _newest_per_version(rows: list[ChanneldataRow]) -> list[dict[str, Any]]:
    """The newest build of each name and version in one subdir: ``.conda`` files first
    (a ``.tar.bz2`` of the same build is the same package), ties to the first seen."""
    conda_stems = {
        row.filename[: -len(".conda")] for row in rows if row.filename.endswith(".conda")
    }
    ordered = sorted(
        (
            row
            for row in rows
            if row.filename.endswith(".conda")
            or row.filename[: -len(".tar.bz2")] not in conda_stems
        ),
        key=lambda row: (not row.filename.endswith(".conda"), row.filename),
    )
    newest: dict[tuple[str, str], dict[str, Any]] = {}
    for row in ordered:
        key = (str(row.fields.get("name")), str(row.fields.get("version")))
        known = newest.get(key)
        if known is None or known.get("timestamp", 0) < row.fields.get("timestamp", 0):
            newest[key] = row.fields
    return list(newest.values())


def _merge(entry: dict[str, Any], data: dict[str, Any], subdir: str) -> None:
    """Fold one version's newest build into its package's entry."""
    newer = _is_newer(data, entry)
    version = str(data.get("version", "0"))
    for key in NEWEST_FIELDS:
        if data.get(key) and (newer or not entry.get(key)):
            entry[key] = data[key]
        else:
            entry[key] = entry.get(key)
    for key in FLAGS:
        entry[key] = bool(data.get(key) or entry.get(key))
    entry["subdirs"] = sorted({*entry.get("subdirs", ()), subdir})
    run_exports = entry.setdefault("run_exports", {})
    if data.get("run_exports"):
        run_exports[version] = data["run_exports"]
    entry["timestamp"] = max(seconds(data.get("timestamp")), entry.get("timestamp", 0))


def document(rows: Iterable[ChanneldataRow]) -> bytes:
    """``channeldata.json`` for the files of a channel (see the module's docstring)."""
    by_subdir: dict[str, list[ChanneldataRow]] = {}
    for row in rows:
        by_subdir.setdefault(row.subdir, []).append(row)
    packages: dict[str, dict[str, Any]] = {}
    for subdir in sorted(by_subdir):
        for data in _newest_per_version(by_subdir[subdir]):
            _merge(packages.setdefault(str(data["name"]), {}), data, subdir)
    result = {
        "channeldata_version": CHANNELDATA_VERSION,
        "packages": {
            name: {key: value for key, value in entry.items() if value is not None}
            for name, entry in packages.items()
        },
        "subdirs": sorted({*by_subdir, "noarch"}),
    }
    return json.dumps(result, sort_keys=True, separators=(",", ":")).encode()


def _decoded(value: str | bytes | dict[str, Any] | None) -> dict[str, Any]:
    """A JSON column read as text: text from SQLite, already decoded from PostgreSQL."""
    if value is None:
        return {}
    return json.loads(value) if isinstance(value, (str, bytes)) else dict(value)


def _stored_fields(
    channel: str | dict[str, Any] | None,
    attrs: str | dict[str, Any] | None,
    indexed_at_ms: int,
    package: dict[str, Any],
) -> dict[str, Any]:
    """A file's channeldata fields; for a file stored before they were kept (``channel`` is
    ``None``), what its ``info/index.json`` and its package's columns give."""
    if channel is not None:
        fields = _decoded(channel)
    else:
        index = _decoded(attrs)
        fields = {key: value for key, value in package.items() if value}
        fields.update({key: index[key] for key in NEWEST_FIELDS if index.get(key) is not None})
        fields.update(dict.fromkeys(FLAGS, False))
        fields.update(name=index.get("name"), run_exports=index.get("run_exports") or {})
        if isinstance(index.get("timestamp"), int):
            fields["timestamp"] = index["timestamp"]
    if not isinstance(fields.get("timestamp"), int):
        fields["timestamp"] = indexed_at_ms  # as in the file's repodata record
    return fields


def rows(
    session: Session, owner_id: int, label: str, readable: frozenset[int]
) -> list[ChanneldataRow]:
    """The channel's conda files a caller who may read the private packages ``readable``
    sees."""
    query = (
        select(
            Package.id,
            Package.public,
            Package.summary,
            Package.license,
            Package.home,
            Package.dev_url,
            Package.doc_url,
            Package.source_git_url,
            File.subdir,
            File.filename,
            type_coerce(File.conda_channel, Text),
            case((File.conda_channel.is_(None), type_coerce(File.attrs, Text)), else_=None),
            File.indexed_at_ms,
        )
        .join(File, File.package_id == Package.id)
        .join(FileLabel, FileLabel.file_id == File.id)
        .join(Label, Label.id == FileLabel.label_id)
        .where(
            Package.owner_id == owner_id,
            Label.owner_id == owner_id,
            Label.name == label,
            File.distribution_type == "conda",
            File.yanked_at.is_(None),  # a yanked file is in no index's ``packages``
        )
    )
    found = []
    for (
        package_id,
        public,
        summary,
        license,
        home,
        dev_url,
        doc_url,
        source_git_url,
        subdir,
        filename,
        channel,
        attrs,
        indexed_at_ms,
    ) in session.execute(query):
        if (public or package_id in readable) and subdir is not None:  # conda files have one
            package = {
                "summary": summary,
                "license": license,
                "home": home,
                "dev_url": dev_url,
                "doc_url": doc_url,
                "source_git_url": source_git_url,
            }
            fields = _stored_fields(channel, attrs, indexed_at_ms, package)
            found.append(ChanneldataRow(subdir, filename, fields))
    return found


class ChanneldataCache:
    """The last documents built, per channel, revision and view (thread-safe)."""

    def __init__(self, size: int = 64) -> None:
        self.size = size
        self._documents: OrderedDict[tuple[Any, ...], bytes] = OrderedDict()
        self._lock = threading.Lock()

    def get(
        self, session: Session, owner_id: int, label: str, readable: frozenset[int]
    ) -> tuple[bytes, str, int]:
        """The document, its ETag and change time (blocking: queries, maybe builds)."""
        total, changed_at = session.execute(
            select(
                func.coalesce(func.sum(IndexState.revision), 0),
                func.coalesce(func.max(IndexState.changed_at_ms), 0),
            ).where(
                IndexState.owner_id == owner_id,
                IndexState.kind == "conda",
                IndexState.label == label,
            )
        ).one()
        cache_key = (owner_id, label, total, readable)
        with self._lock:
            cached = self._documents.get(cache_key)
        if cached is None:
            cached = document(rows(session, owner_id, label, readable))
            with self._lock:
                self._documents[cache_key] = cached
                while len(self._documents) > self.size:
                    self._documents.popitem(last=False)
        etag = hashlib.blake2b(cached, digest_size=16).hexdigest()
        return cached, etag, changed_at
