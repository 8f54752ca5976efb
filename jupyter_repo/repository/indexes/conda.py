"""Conda repodata: records, pre-serialised per package name, and documents made by joining bytes.

A subdir can hold 100k records, and serialising them all with ``json.dumps`` takes over a
second, so the unit of work is one package name. When a name changes, its records are
serialised once into a :class:`Segment`: the ``"<file>":{...}`` members it contributes to
``packages`` and ``packages.conda``, its CEP-16 shard, and a fingerprint. A repodata document
is then a fixed header, the segments' bytes joined with commas, and a fixed footer — a copy of
memory, not a serialisation. Views (what one caller may read) pick which segments to join.

Everything here is a pure function of the file rows, so every server process builds the same
bytes for the same rows; ETags are derived from the segments' fingerprints and therefore
agree across processes without storing the documents anywhere.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from jupyter_repo.repository.indexes import shards

#: Bumped whenever the serialisation changes, so that ETags of old documents never match.
FORMAT_VERSION = b"jr-repodata-1"
#: Keys of ``File.attrs`` that are ours, not ``info/index.json``'s: never part of a record.
NOT_RECORD_KEYS = frozenset({"run_exports"})
TAR_BZ2 = ".tar.bz2"


@dataclass(frozen=True)
class FileRow:
    """What the index needs to know about one conda file carrying the label."""

    file_id: int
    filename: str
    attrs: dict[str, Any]
    md5: str
    sha256: str
    size: int
    indexed_at_ms: int
    package_id: int
    package_key: str
    public: bool


@dataclass(frozen=True)
class Segment:
    """One package name's part of a subdir index, serialised once."""

    package_key: str
    #: The records' ``name`` (the key in the shard index; conda names are lower case).
    name: str
    package_id: int
    public: bool
    #: Comma-joined ``"<file>":{record}`` members of ``packages`` / ``packages.conda``.
    packages: bytes
    packages_conda: bytes
    shard: bytes
    shard_sha256: str
    fingerprint: bytes
    count: int


def repodata_record(row: FileRow, subdir: str) -> dict[str, Any]:
    """The repodata record of a file: its ``info/index.json`` plus size and hashes."""
    record = {key: value for key, value in row.attrs.items() if key not in NOT_RECORD_KEYS}
    record["subdir"] = subdir
    record["md5"] = row.md5
    record["sha256"] = row.sha256
    record["size"] = row.size
    record.setdefault("depends", [])
    if not isinstance(record.get("timestamp"), int):
        record["timestamp"] = row.indexed_at_ms
    return record


def _member(filename: str, record: dict[str, Any]) -> str:
    return json.dumps(filename) + ":" + json.dumps(record, sort_keys=True, separators=(",", ":"))


def make_segment(package_key: str, rows: Sequence[FileRow], subdir: str) -> Segment:
    """Serialise one package name's records (rows of a single package) for a subdir."""
    assert rows, "a segment needs at least one file"
    tar_bz2: dict[str, dict[str, Any]] = {}
    conda: dict[str, dict[str, Any]] = {}
    for row in sorted(rows, key=lambda item: item.filename):
        target = tar_bz2 if row.filename.endswith(TAR_BZ2) else conda
        target[row.filename] = repodata_record(row, subdir)
    packages = ",".join(_member(name, record) for name, record in tar_bz2.items()).encode()
    packages_conda = ",".join(_member(name, record) for name, record in conda.items()).encode()
    shard = shards.encode_shard(tar_bz2, conda)
    first = rows[0]
    name = str((next(iter(conda.values()), None) or next(iter(tar_bz2.values())))["name"])
    fingerprint = hashlib.blake2b(
        packages + b"\0" + packages_conda, digest_size=16, person=b"jr-segment"
    ).digest()
    return Segment(
        package_key=package_key,
        name=name,
        package_id=first.package_id,
        public=first.public,
        packages=packages,
        packages_conda=packages_conda,
        shard=shard,
        shard_sha256=hashlib.sha256(shard).hexdigest(),
        fingerprint=fingerprint,
        count=len(rows),
    )


def view_etag(subdir: str, segments: Iterable[Segment]) -> str:
    """A strong validator of the documents made from ``segments`` (content-derived)."""
    digest = hashlib.blake2b(FORMAT_VERSION + b"\0" + subdir.encode(), digest_size=16)
    for segment in segments:
        digest.update(segment.fingerprint)
    return digest.hexdigest()


def assemble(subdir: str, segments: Sequence[Segment]) -> bytes:
    """``repodata.json`` for ``segments`` (in package-key order): joined bytes, no JSON work.

    Every member was made by ``json.dumps``, so the result is valid JSON whatever the
    records hold; records of one name stay together and files are unique per subdir.
    """
    header = json.dumps({"subdir": subdir}, separators=(",", ":")).encode()
    packages = b",".join(segment.packages for segment in segments if segment.packages)
    packages_conda = b",".join(
        segment.packages_conda for segment in segments if segment.packages_conda
    )
    return b"".join((
        b'{"info":', header, b',"packages":{', packages, b'},"packages.conda":{',
        packages_conda, b'},"removed":[],"repodata_version":1}',
    ))


def empty_document(subdir: str) -> bytes:
    return assemble(subdir, [])


# -- channeldata.json (CEP 38) ---------------------------------------------------------------


@dataclass(frozen=True)
class ChanneldataRow:
    package_id: int
    name: str
    public: bool
    summary: str
    license: str
    home: str
    dev_url: str
    doc_url: str
    source_url: str
    subdir: str
    version: str
    indexed_at_ms: int


def channeldata(rows: Iterable[ChanneldataRow]) -> bytes:
    """``channeldata.json`` for the files of a channel.

    ``version`` and ``timestamp`` are those of the most recently published file of each
    package (CEP 38 asks for the newest version; neither conda nor rattler reads the file, and
    ordering by publication keeps the server free of a conda version parser).
    """
    packages: dict[str, dict[str, Any]] = {}
    newest: dict[str, int] = {}
    subdirs: set[str] = set()
    for row in rows:
        subdirs.add(row.subdir)
        entry = packages.setdefault(row.name, {"subdirs": set()})
        entry["subdirs"].add(row.subdir)
        if row.indexed_at_ms >= newest.get(row.name, -1):
            newest[row.name] = row.indexed_at_ms
            entry.update(version=row.version, timestamp=row.indexed_at_ms // 1000)
            for field, value in (("summary", row.summary), ("license", row.license),
                                 ("home", row.home), ("dev_url", row.dev_url),
                                 ("doc_url", row.doc_url), ("source_url", row.source_url)):
                if value:
                    entry[field] = value
    for entry in packages.values():
        entry["subdirs"] = sorted(entry["subdirs"])
    document = {"channeldata_version": 1, "packages": packages, "subdirs": sorted(subdirs)}
    return json.dumps(document, sort_keys=True, separators=(",", ":")).encode()
