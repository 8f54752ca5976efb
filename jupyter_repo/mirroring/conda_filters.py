"""Which records of an upstream conda subdir a mirror carries: its filters, in conda's terms.

Names and match specs are read by py-rattler (``MatchSpec``), versions are ordered by
py-rattler's ``Version`` (conda's order: ``1.10 > 1.10a1 > 1.9``), so that a filter means on
the mirror what it means to conda and rattler. Pure functions of a repodata document and a
:class:`MirrorConfig`: no fetching, no database.
"""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any

from rattler import BuildString, MatchSpec, PackageRecord, Version

from jupyter_repo.repository.errors import InvalidInput
from jupyter_repo.repository.services.mirrors import MirrorConfig

#: A filter entry that is only a package name (compared without building a record).
PLAIN_NAME_RE = re.compile(r"^[A-Za-z0-9_.\-]+$")
#: Timestamps above this are milliseconds (conda writes ms; old indexers wrote seconds).
SECONDS_LIMIT = 253_402_300_799


@dataclass(frozen=True)
class Record:
    """One file of an upstream subdir, as its repodata describes it."""

    subdir: str
    filename: str
    data: dict[str, Any]

    @property
    def name(self) -> str:
        return str(self.data.get("name", ""))

    @property
    def version(self) -> str:
        return str(self.data.get("version", ""))

    @property
    def basename(self) -> str:
        return f"{self.subdir}/{self.filename}"

    def timestamp(self) -> datetime | None:
        value = self.data.get("timestamp")
        if not isinstance(value, int | float) or value <= 0:
            return None
        seconds = value / 1000 if value > SECONDS_LIMIT else value
        return datetime.fromtimestamp(seconds, timezone.utc)


def records(subdir: str, repodata: dict[str, Any]) -> Iterator[Record]:
    """Every file a repodata document lists, ``.tar.bz2`` (``packages``) and ``.conda``."""
    for key in ("packages", "packages.conda"):
        section = repodata.get(key) or {}
        if not isinstance(section, dict):
            continue
        for filename, data in section.items():
            if isinstance(filename, str) and isinstance(data, dict):
                yield Record(subdir, filename, data)


class Matcher:
    """``include``/``exclude`` entries: package names or match specs (``numpy >=1.26``)."""

    def __init__(self, entries: Iterable[str]) -> None:
        self.names: set[str] = set()
        self.specs: list[MatchSpec] = []
        for entry in entries:
            if PLAIN_NAME_RE.match(entry):
                self.names.add(entry.lower())
                continue
            try:
                self.specs.append(MatchSpec(entry))
            except Exception as error:  # rattler raises its own parse errors
                raise InvalidInput(
                    f"{entry!r} is not a package name or match spec: {error}"
                ) from None

    def __bool__(self) -> bool:
        return bool(self.names or self.specs)

    def matches(self, record: Record) -> bool:
        if record.name.lower() in self.names:
            return True
        if not self.specs:
            return False
        package_record = _package_record(record)
        return package_record is not None and any(
            spec.matches(package_record) for spec in self.specs
        )


def _package_record(record: Record) -> PackageRecord | None:
    data = record.data
    try:
        return PackageRecord(
            name=record.name,
            version=record.version,
            build=BuildString(str(data.get("build", ""))),
            build_number=int(data.get("build_number", 0)),
            subdir=str(data.get("subdir") or record.subdir),
            depends=list(data.get("depends") or []),
            license=data.get("license"),
        )
    except Exception:  # a record rattler cannot read matches no spec
        return None


@dataclass
class Selection:
    """What a subdir's filters keep, and how many records they left out."""

    kept: list[Record]
    filtered_out: int


def _licence_ok(record: Record, allow: set[str], deny: set[str]) -> bool:
    licence = str(record.data.get("license") or "").strip().lower()
    if allow and licence not in allow:
        return False
    return licence not in deny


def _date_ok(record: Record, newer: datetime | None, older: datetime | None) -> bool:
    if newer is None and older is None:
        return True
    stamp = record.timestamp()
    if stamp is None:  # a filter by date keeps only what it can date
        return False
    return (newer is None or stamp > newer) and (older is None or stamp < older)


def _conda_version(value: str) -> Version | None:
    try:
        return Version(value)
    except Exception:
        return None


def latest_versions(kept: list[Record], count: int) -> list[Record]:
    """The records of the newest ``count`` versions of each name (conda's version order)."""
    by_name: dict[str, set[str]] = defaultdict(set)
    for record in kept:
        by_name[record.name.lower()].add(record.version)
    newest: dict[str, set[str]] = {}
    for name, versions in by_name.items():
        readable = [(v, parsed) for v in versions if (parsed := _conda_version(v)) is not None]
        readable.sort(key=lambda pair: pair[1], reverse=True)
        newest[name] = {v for v, _parsed in readable[:count]}
    return [record for record in kept if record.version in newest[record.name.lower()]]


def select(all_records: Iterable[Record], config: MirrorConfig) -> Selection:
    """Apply ``config``'s filters in order: include/exclude, licences, dates, then latest N."""
    include, exclude = Matcher(config.include), Matcher(config.exclude)
    allow = {value.strip().lower() for value in config.licenses_allow}
    deny = {value.strip().lower() for value in config.licenses_deny}
    newer, older = config.newer_than_date(), config.older_than_date()
    seen = 0
    kept = []
    for record in all_records:
        seen += 1
        if include and not include.matches(record):
            continue
        if exclude and exclude.matches(record):
            continue
        if not _licence_ok(record, allow, deny) or not _date_ok(record, newer, older):
            continue
        kept.append(record)
    if config.latest is not None:
        kept = latest_versions(kept, config.latest)
    return Selection(kept, seen - len(kept))
