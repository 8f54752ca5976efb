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
import zlib
from collections.abc import Iterable, Mapping, Sequence, Set
from dataclasses import dataclass, field
from functools import cached_property
from json.encoder import encode_basestring_ascii
from typing import Any

from jupyter_repo.repository.indexes import shards, zstd_frames

#: Bumped whenever the serialisation changes, so that ETags of old documents never match
#: and stored records (``CondaRecord.format``) are made again.
RECORD_FORMAT = 2
FORMAT_VERSION = b"jr-repodata-%d" % RECORD_FORMAT
#: Bumped whenever the documents' layout changes (not the records): part of every ETag.
#: 2: separators between the units of a document (see ``Units``).
LAYOUT_VERSION = b"layout-3"
#: Keys of ``File.attrs`` never part of a record: ``run_exports`` is ours (from
#: ``info/run_exports.json``; it has a document of its own), the others are the
#: ``info/index.json`` keys conda-index leaves out of repodata.
NOT_RECORD_KEYS = frozenset(
    {
        "run_exports",
        "arch",
        "binstar",
        "has_prefix",
        "machine",
        "mtime",
        "operatingsystem",
        "platform",
        "requires_features",
        "target-triplet",
        "ucs",
    }
)
RUN_EXPORTS_VERSION = 1
TAR_BZ2 = ".tar.bz2"


@dataclass(frozen=True, slots=True)
class SerializedRecord:
    """A file's record, serialised for ``repodata.json`` and for its shard (see
    ``CondaRecord``)."""

    name: str
    member: bytes
    shard_member: bytes
    #: The ``"<file>":{"run_exports":{...}}`` member of ``run_exports.json``.
    run_exports: bytes


@dataclass(frozen=True, slots=True)
class FileRow:
    """What the index needs to know about one conda file carrying the label."""

    file_id: int
    filename: str
    #: ``info/index.json`` as stored: a dict, or its JSON text (decoded only when needed).
    attrs: dict[str, Any] | str
    md5: str
    sha256: str
    size: int
    indexed_at_ms: int
    package_id: int
    package_key: str
    public: bool
    #: The stored serialisation, when there is one of the current format.
    stored: SerializedRecord | None = None
    #: A yanked file leaves ``packages``/``packages.conda`` for ``removed`` (as conda's own
    #: tools list removed files), so no solver picks it; its bytes stay downloadable.
    yanked: bool = False


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
    #: Comma-joined JSON strings: the names of the yanked files (``removed``).
    removed: bytes
    #: The same for ``run_exports.json``: ``"<file>":{"run_exports":{...}}``.
    run_exports: bytes
    run_exports_conda: bytes
    shard: bytes
    shard_sha256: str
    #: This segment's pre-encoded entry of the shard index (msgpack name and raw hash).
    shard_entry: bytes
    fingerprint: bytes
    count: int
    #: Whether a document block ends after this name (see :func:`blocks`).
    ends_block: bool

    @property
    def nbytes(self) -> int:
        return (
            len(self.packages)
            + len(self.packages_conda)
            + len(self.removed)
            + len(self.shard)
            + len(self.run_exports)
            + len(self.run_exports_conda)
        )


def _attrs(row: FileRow) -> dict[str, Any]:
    return json.loads(row.attrs) if isinstance(row.attrs, (str, bytes)) else row.attrs


def repodata_record(
    row: FileRow, subdir: str, attrs: dict[str, Any] | None = None
) -> dict[str, Any]:
    """The repodata record of a file: its ``info/index.json`` plus size and hashes."""
    attrs = _attrs(row) if attrs is None else attrs
    record = {key: value for key, value in attrs.items() if key not in NOT_RECORD_KEYS}
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


def run_exports_member(filename: str, attrs: dict[str, Any]) -> bytes:
    """The file's ``"<file>":{"run_exports":{...}}`` member of ``run_exports.json`` (``{}``
    when the package ships none)."""
    exports = attrs.get("run_exports")
    if not exports or not isinstance(exports, dict):
        # What json.dumps does for a str, without building an encoder per file.
        return (encode_basestring_ascii(filename) + ':{"run_exports":{}}').encode()
    return _member(filename, {"run_exports": exports}).encode()


def serialize(row: FileRow, subdir: str) -> SerializedRecord:
    attrs = _attrs(row)
    record = repodata_record(row, subdir, attrs)
    return SerializedRecord(
        str(record["name"]),
        _member(row.filename, record).encode(),
        shards.shard_pair(row.filename, record),
        run_exports_member(row.filename, attrs),
    )


def make_segment(
    package_key: str, rows: Sequence[FileRow], subdir: str
) -> tuple[Segment, list[tuple[int, SerializedRecord]]]:
    """Serialise one package name's records (rows of a single package) for a subdir.

    Rows with a stored serialisation are joined as they are; the others are serialised
    and returned, to be stored. Yanked files are named under ``removed`` only.
    """
    assert rows, "a segment needs at least one file"
    made: list[tuple[int, SerializedRecord]] = []
    tar_bz2: list[SerializedRecord] = []
    conda: list[SerializedRecord] = []
    yanked: list[SerializedRecord] = []
    removed: list[str] = []
    exports: list[bytes] = []
    exports_conda: list[bytes] = []
    for row in sorted(rows, key=lambda item: item.filename):
        record = row.stored
        if record is None:
            record = serialize(row, subdir)
            made.append((row.file_id, record))
        if row.yanked:  # in no document but under ``removed`` (run_exports.json: neither)
            yanked.append(record)
            removed.append(row.filename)
            continue
        legacy = row.filename.endswith(TAR_BZ2)
        (tar_bz2 if legacy else conda).append(record)
        (exports if legacy else exports_conda).append(record.run_exports)
    packages = b",".join(record.member for record in tar_bz2)
    packages_conda = b",".join(record.member for record in conda)
    removed_json = b",".join(json.dumps(filename).encode() for filename in removed)
    shard = shards.encode_shard(
        [record.shard_member for record in tar_bz2],
        [record.shard_member for record in conda],
        removed,
    )
    first = rows[0]
    # Without yanked files the fingerprint (and so every ETag) is what it always was.
    fingerprint = hashlib.blake2b(
        packages + b"\0" + packages_conda + (b"\0" + removed_json if removed else b""),
        digest_size=16,
        person=b"jr-segment",
    ).digest()
    digest = hashlib.sha256(shard).digest()
    name = (conda or tar_bz2 or yanked)[0].name
    segment = Segment(
        package_key=package_key,
        name=name,
        package_id=first.package_id,
        public=first.public,
        packages=packages,
        packages_conda=packages_conda,
        removed=removed_json,
        run_exports=b",".join(exports),
        run_exports_conda=b",".join(exports_conda),
        shard=shard,
        shard_sha256=digest.hex(),
        shard_entry=shards.index_entry(name, digest),
        fingerprint=fingerprint,
        count=len(rows),
        ends_block=ends_block(package_key),
    )
    return segment, made


def view_etag(subdir: str, parts: Iterable[Block]) -> str:
    """A strong validator of the documents made from the blocks ``parts`` (content-derived:
    block boundaries depend on the names only, so equal segments give equal ETags)."""
    digest = hashlib.blake2b(
        FORMAT_VERSION + b"\0" + LAYOUT_VERSION + b"\0" + subdir.encode(), digest_size=16
    )
    digest.update(b"".join(block.fingerprint for block in parts))
    return digest.hexdigest()


# -- documents as pieces -----------------------------------------------------------------------
#
# A 66k-record document is ~30 MB; joining it into one ``bytes`` costs tens of milliseconds per
# change and a copy per response. Instead a document is a list of *pieces*: the segments are
# grouped into blocks of about 32 package names, each block's bytes joined once, and a change
# re-joins only the blocks whose names changed. Block boundaries depend on the names only (a
# block ends after a name whose hash has its low bits clear), so adding a name does not shift
# the other blocks. Responses write the pieces one after another, without joining them.

BLOCK_MASK = 0x1F


@dataclass(frozen=True)
class Block:
    """Consecutive segments, the unit a change re-joins and recompresses.

    A block refers to its segments' bytes rather than holding a joined copy: a million-record
    subdir would otherwise be in memory twice.
    """

    keys: tuple[str, ...]
    segments: tuple[Segment, ...] = field(compare=False, repr=False)
    #: Compressed parts, made when first needed: ``(attribute, level)`` -> zstd blocks.
    frames: dict[tuple[str, int], bytes] = field(default_factory=dict, compare=False, repr=False)

    #: Each section's members and their total size, made when first needed.
    parts: dict[str, tuple[list[bytes], int]] = field(
        default_factory=dict, compare=False, repr=False
    )

    def members(self, attribute: str) -> list[bytes]:
        """The block's part of one section (``packages``, ``packages_conda``, ``removed``):
        the segments' non-empty members with commas between, as pieces (made once: a new
        view of a million-file subdir reuses its unchanged blocks' parts)."""
        return self._part(attribute)[0]

    def size(self, attribute: str) -> int:
        """Bytes of :meth:`members`."""
        return self._part(attribute)[1]

    def _part(self, attribute: str) -> tuple[list[bytes], int]:
        made = self.parts.get(attribute)
        if made is None:
            result: list[bytes] = []
            for segment in self.segments:
                value = getattr(segment, attribute)
                if value:
                    if result:
                        result.append(b",")
                    result.append(value)
            made = self.parts[attribute] = (result, sum(len(piece) for piece in result))
        return made

    @cached_property
    def shard_entries(self) -> bytes:
        """The segments' entries of the shard index, joined (its pieces, one per block)."""
        return b"".join(segment.shard_entry for segment in self.segments)

    @cached_property
    def fingerprint(self) -> bytes:
        """A digest of the segments' fingerprints (the view's ETag hashes one per block)."""
        joined = b"".join(segment.fingerprint for segment in self.segments)
        return hashlib.blake2b(joined, digest_size=16).digest()

    @property
    def frames_nbytes(self) -> int:
        return sum(len(made) for made in list(self.frames.values()))


def ends_block(package_key: str) -> bool:
    return zlib.crc32(package_key.encode()) & BLOCK_MASK == 0


def blocks(
    segments: Sequence[Segment],
    reusable: Mapping[tuple[str, ...], Block] | None = None,
    changed: Set[str] = frozenset(),
) -> list[Block]:
    """Group ``segments`` (in key order) into blocks, reusing unchanged ones from before."""
    result: list[Block] = []
    current: list[Segment] = []
    for position, segment in enumerate(segments):
        current.append(segment)
        if segment.ends_block or position == len(segments) - 1:
            keys = tuple(item.package_key for item in current)
            previous = reusable.get(keys) if reusable is not None else None
            if previous is None or not changed.isdisjoint(keys):
                previous = make_block(current)
            result.append(previous)
            current = []
    return result


def make_block(segments: Sequence[Segment]) -> Block:
    """One block of consecutive segments."""
    return Block(tuple(item.package_key for item in segments), tuple(segments))


@dataclass(frozen=True)
class Units:
    """``repodata.json`` as units: fixed text and the blocks' parts, in document order.

    Between two units goes a separator (:mod:`zstd_frames`): whitespace, or a comma and
    whitespace between two blocks of one section. The plain document is the units with the
    separators' text between them; ``repodata.json.zst`` is one zstd frame of the units
    compressed one by one, so a change recompresses only the blocks it touched.
    """

    #: Each unit as pieces (a block's part is its segments' members, never joined).
    data: list[list[bytes]]
    #: Before each unit but the first: whether its separator carries a comma.
    commas: list[bool]
    #: Where each unit comes from: its block and section, or ``None`` and ``""`` for fixed
    #: text (two lists, not a tuple per unit: a view of a million files has thousands of
    #: units, and every tuple would be one more object for the garbage collector).
    blocks: list[Block | None]
    attributes: list[str]
    #: Bytes of each unit.
    sizes: list[int]

    def plain(self) -> list[bytes]:
        """The document as pieces whose concatenation is ``repodata.json``."""
        result: list[bytes] = list(self.data[0])
        for comma, unit in zip(self.commas, self.data[1:], strict=True):
            result.append(_separator_text(comma))
            result.extend(unit)
        return result

    def largest(self) -> int:
        return max(self.sizes)

    def size(self) -> int:
        """Bytes of :meth:`plain`'s document, without joining or walking its pieces."""
        separators = sum(len(_separator_text(comma)) for comma in self.commas)
        return sum(self.sizes) + separators

    def compressed(self, level: int) -> list[bytes]:
        """The units' compressed blocks (a block's are made once and kept on the block)."""
        result = []
        for data, block, attribute in zip(self.data, self.blocks, self.attributes, strict=True):
            if block is None:
                result.append(zstd_frames.compress_piece(data, level))
                continue
            made = block.frames.get((attribute, level))
            if made is None:
                made = block.frames[(attribute, level)] = zstd_frames.compress_piece(data, level)
            result.append(made)
        return result


def _separator_text(comma: bool) -> bytes:
    return zstd_frames.COMMA_SEPARATOR_TEXT if comma else zstd_frames.SEPARATOR_TEXT


def units(subdir: str, parts: Sequence[Block]) -> Units:
    """The units of ``repodata.json`` (see :class:`Units`).

    Every member was made by ``json.dumps``, so the document is valid JSON whatever the
    records hold; records of one name stay together and file names are unique per subdir.
    """
    header = json.dumps({"subdir": subdir}, separators=(",", ":")).encode()
    opening = b'{"info":' + header + b',"packages":{'
    data: list[list[bytes]] = [[opening]]
    commas: list[bool] = []
    blocks: list[Block | None] = [None]
    attributes = [""]
    sizes = [len(opening)]
    for attribute, closing in (
        ("packages", b'},"packages.conda":{'),
        ("packages_conda", b'},"removed":['),
        ("removed", b'],"repodata_version":1}'),
    ):
        first = True
        for block in parts:
            members = block.members(attribute)
            if members:
                data.append(members)
                commas.append(not first)
                blocks.append(block)
                attributes.append(attribute)
                sizes.append(block.size(attribute))
                first = False
        data.append([closing])
        commas.append(False)
        blocks.append(None)
        attributes.append("")
        sizes.append(len(closing))
    return Units(data, commas, blocks, attributes, sizes)


def pieces(subdir: str, parts: Sequence[Block]) -> list[bytes]:
    """``repodata.json`` as pieces whose concatenation is the document."""
    return units(subdir, parts).plain()


def run_exports_document(subdir: str, segments: Iterable[Segment]) -> bytes:
    """``run_exports.json`` (CEP 12) of a view: every file's ``run_exports``, ``{}`` when it
    has none, in the layout conda-index writes."""
    segments = list(segments)
    info = json.dumps({"subdir": subdir, "version": RUN_EXPORTS_VERSION}, separators=(",", ":"))
    return b"".join(
        (
            b'{"info":',
            info.encode(),
            b',"packages":{',
            b",".join(item.run_exports for item in segments if item.run_exports),
            b'},"packages.conda":{',
            b",".join(item.run_exports_conda for item in segments if item.run_exports_conda),
            b"}}",
        )
    )


def assemble(subdir: str, segments: Sequence[Segment]) -> bytes:
    """The whole document at once (for tests and small views)."""
    return b"".join(pieces(subdir, blocks(segments)))
