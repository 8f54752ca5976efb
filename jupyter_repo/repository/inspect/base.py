"""Shared pieces of the inspectors: the result type, limits and bounded readers."""

from __future__ import annotations

import base64
from dataclasses import asdict, dataclass, field
from typing import IO, Any

from jupyter_repo import bounded_json
from jupyter_repo.repository.errors import InvalidInput, TooLarge


@dataclass(frozen=True)
class Limits:
    """Bounds on what an inspector may decompress or parse."""

    max_inflate_bytes: int = 2 << 30  # total decompressed bytes scanned in an archive
    max_member_bytes: int = 32 << 20  # one metadata member read into memory
    max_archive_members: int = 100_000
    max_parse_bytes: int = 64 << 20  # notebooks and environment specs parsed whole


@dataclass
class Inspection:
    """What an inspector learned about a file."""

    distribution_type: str
    name: str | None = None
    version: str | None = None
    subdir: str | None = None
    attrs: dict[str, Any] = field(default_factory=dict)
    dependencies: dict[str, Any] = field(default_factory=dict)
    summary: str = ""
    description: str = ""
    #: How ``description`` is written: text/markdown, text/x-rst or text/plain (the
    #: Description-Content-Type of core metadata); the page renders it accordingly.
    description_content_type: str = ""
    license: str = ""
    home: str = ""
    core_metadata: bytes | None = None
    #: A conda file's ``channeldata.json`` keys (``inspect/condachannel.py``).
    conda_channel: dict[str, Any] | None = None

    def to_json(self) -> dict[str, Any]:
        data = asdict(self)
        if self.core_metadata is not None:
            data["core_metadata"] = base64.b64encode(self.core_metadata).decode("ascii")
        return data

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Inspection:
        data = dict(data)
        if data.get("core_metadata") is not None:
            data["core_metadata"] = base64.b64decode(data["core_metadata"])
        return cls(**data)


def read_bounded(stream: IO[bytes], limit: int, what: str) -> bytes:
    """Read a whole (small) member, refusing one larger than ``limit``."""
    data = stream.read(limit + 1)
    if len(data) > limit:
        raise TooLarge(f"{what} is larger than the limit of {limit} bytes.")
    return data


def load_json_object(data: bytes, what: str) -> dict[str, Any]:
    try:
        value = bounded_json.loads(data)
    except bounded_json.JSONRefused as error:
        raise InvalidInput(f"{what} is not valid JSON: {error}") from None
    if not isinstance(value, dict):
        raise InvalidInput(f"{what} must be a JSON object.")
    return value


def text(value: Any, limit: int = 10_000) -> str:
    """A metadata value as a bounded string (metadata can hold anything)."""
    if value is None:
        return ""
    if isinstance(value, dict):
        value = value.get("name") or value.get("text") or ""
    if isinstance(value, list):
        value = ", ".join(str(item) for item in value)
    return str(value)[:limit]


class InflateBudget:
    """Counts decompressed bytes across an archive and refuses to go past the limit."""

    def __init__(self, limits: Limits) -> None:
        self.limits = limits
        self.bytes = 0
        self.members = 0

    def charge(self, size: int, members: int = 1) -> None:
        """Count ``size`` decompressed bytes and ``members`` more members."""
        self.bytes += max(size, 0)
        self.members += members
        if self.bytes > self.limits.max_inflate_bytes:
            raise TooLarge(
                "The archive inflates past the server's limit of "
                f"{self.limits.max_inflate_bytes} bytes; it was refused."
            )
        if self.members > self.limits.max_archive_members:
            raise TooLarge(
                f"The archive has more than {self.limits.max_archive_members} members; "
                "it was refused."
            )
