"""SQLAlchemy 2.x typed models: the repository's source of truth.

Storage holds bytes only; every fact about a file (which package, release, labels, hashes,
metadata) lives here. Schema changes go through Alembic migrations in ``migrations/``.
"""

from __future__ import annotations

from datetime import datetime, timezone
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Text,
    TypeDecorator,
    UniqueConstraint,
    false,
    func,
)
from sqlalchemy.engine import Dialect
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship
from sqlalchemy.sql.elements import Label as Labelled

from jupyter_repo.enums import StrEnum


def utcnow() -> datetime:
    return datetime.now(timezone.utc)


def now_ms() -> int:
    """Milliseconds since the epoch (conda's timestamp unit)."""
    return int(utcnow().timestamp() * 1000)


class UTCDateTime(TypeDecorator[datetime]):
    """Stores naive UTC, returns aware UTC: SQLite has no time zones, clients need them."""

    impl = DateTime
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to a UTC column")
        return value.astimezone(timezone.utc).replace(tzinfo=None)

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=timezone.utc)


class AccountKind(StrEnum):
    """What a namespace is: a user (who can log in) or an organization (which has groups)."""

    USER = "user"
    ORG = "org"


class AccountKindType(TypeDecorator[AccountKind]):
    """An :class:`AccountKind` stored as its text (the column stays ``VARCHAR(8)``)."""

    impl = String(8)
    cache_ok = True

    def process_bind_param(self, value: AccountKind | str | None, dialect: Dialect) -> str | None:
        return None if value is None else AccountKind(value).value

    def process_result_value(self, value: str | None, dialect: Dialect) -> AccountKind | None:
        return None if value is None else AccountKind(value)


def dialect_index(dialect: str, name: str, *columns: str) -> Index:
    """An index created only on ``dialect`` (``ddl_if``); ``info["dialect"]`` tells schema
    comparisons (``db.include_object``) to expect it there only."""
    return Index(name, *columns, info={"dialect": dialect}).ddl_if(dialect=dialect)


def trigram_index(name: str, column: str | Labelled[Any]) -> Index:
    """A GIN index of ``column``'s trigrams (pg_trgm), on PostgreSQL only: it lets
    ``LIKE '%substring%'`` seek instead of scanning every row (migration 0010)."""
    return Index(
        name,
        column,
        postgresql_using="gin",
        postgresql_ops={column if isinstance(column, str) else column.name: "gin_trgm_ops"},
        info={"dialect": "postgresql"},
    ).ddl_if(dialect="postgresql")


NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)
    type_annotation_map = {dict[str, Any]: JSON, list[Any]: JSON, datetime: UTCDateTime}


class Account(Base):
    """A namespace: a user (who can log in) or an organization (which has groups)."""

    __tablename__ = "accounts"

    id: Mapped[int] = mapped_column(primary_key=True)
    login: Mapped[str] = mapped_column(String(64), unique=True)
    kind: Mapped[AccountKind] = mapped_column(AccountKindType())
    name: Mapped[str] = mapped_column(String(200), default="")
    email: Mapped[str] = mapped_column(String(200), default="")
    description: Mapped[str] = mapped_column(Text, default="")
    url: Mapped[str] = mapped_column(String(500), default="")
    location: Mapped[str] = mapped_column(String(200), default="")
    company: Mapped[str] = mapped_column(String(200), default="")
    password_hash: Mapped[str | None] = mapped_column(String(200), default=None)
    is_site_admin: Mapped[bool] = mapped_column(Boolean, default=False)
    #: None for a local account; the identity provider that created it otherwise
    #: ("jupyterhub", "oauth:<name>"), which alone may sign it in.
    auth_source: Mapped[str | None] = mapped_column(String(64), default=None)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    @property
    def is_org(self) -> bool:
        return self.kind is AccountKind.ORG


class Group(Base):
    """A group of users inside an organization, with one permission level."""

    __tablename__ = "groups"
    __table_args__ = (UniqueConstraint("org_id", "name"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    org_id: Mapped[int] = mapped_column(ForeignKey("accounts.id", ondelete="CASCADE"))
    name: Mapped[str] = mapped_column(String(64))
    permission: Mapped[str] = mapped_column(String(8))  # "read" | "write" | "admin"
    description: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    org: Mapped[Account] = relationship()


class GroupMember(Base):
    __tablename__ = "group_members"

    group_id: Mapped[int] = mapped_column(
        ForeignKey("groups.id", ondelete="CASCADE"), primary_key=True
    )
    user_id: Mapped[int] = mapped_column(
        ForeignKey("accounts.id", ondelete="CASCADE"), primary_key=True, index=True
    )


class GroupPackage(Base):
    """Per-package access: the group's permission applies to this package."""

    __tablename__ = "group_packages"

    group_id: Mapped[int] = mapped_column(
        ForeignKey("groups.id", ondelete="CASCADE"), primary_key=True
    )
    package_id: Mapped[int] = mapped_column(
        ForeignKey("packages.id", ondelete="CASCADE"), primary_key=True, index=True
    )


class Package(Base):
    __tablename__ = "packages"
    __table_args__ = (
        UniqueConstraint("owner_id", "name_key"),
        # One package answers a PEP 503 project name in a namespace (whatever the type):
        # ``sci-tools`` and ``sci_tools`` are the same project for pip, so they must be
        # the same package here, with one set of permissions.
        UniqueConstraint("owner_id", "pypi_key", name="uq_packages_owner_pypi_key"),
        # Search (services/search.py) matches substrings, which no B-tree can seek; on
        # SQLite this index covers every column it reads, so the scan walks short index
        # entries instead of table rows carrying descriptions (READMEs, often kilobytes,
        # stored before ``public`` and ``owner_id``). PostgreSQL plans this differently.
        dialect_index("sqlite", "ix_packages_search", "name_key", "summary", "public", "owner_id"),
        # On PostgreSQL, trigram GIN indexes (pg_trgm) serve exactly the two patterns search
        # runs, ``name_key LIKE '%q%'`` and ``lower(summary) LIKE '%q%'``, as a bitmap OR
        # (the second one, on an expression, is declared after the class).
        trigram_index("ix_packages_name_key_trgm", "name_key"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    owner_id: Mapped[int] = mapped_column(ForeignKey("accounts.id", ondelete="CASCADE"))
    name: Mapped[str] = mapped_column(String(128))
    name_key: Mapped[str] = mapped_column(String(128), index=True)
    pypi_key: Mapped[str] = mapped_column(String(128), index=True)
    summary: Mapped[str] = mapped_column(Text, default="")
    description: Mapped[str] = mapped_column(Text, default="")
    license: Mapped[str] = mapped_column(String(200), default="")
    license_url: Mapped[str] = mapped_column(String(500), default="")
    home: Mapped[str] = mapped_column(String(500), default="")
    dev_url: Mapped[str] = mapped_column(String(500), default="")
    doc_url: Mapped[str] = mapped_column(String(500), default="")
    source_git_url: Mapped[str] = mapped_column(String(500), default="")
    public: Mapped[bool] = mapped_column(Boolean, default=True)
    package_types: Mapped[list[Any]] = mapped_column(default=list)
    attrs: Mapped[dict[str, Any]] = mapped_column(default=dict)
    created_by_id: Mapped[int | None] = mapped_column(
        ForeignKey("accounts.id", ondelete="SET NULL"), default=None
    )
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    modified_at: Mapped[datetime] = mapped_column(default=utcnow, index=True)

    owner: Mapped[Account] = relationship(foreign_keys=[owner_id])
    releases: Mapped[list[Release]] = relationship(
        back_populates="package", cascade="all, delete-orphan", passive_deletes=True
    )


class Collaborator(Base):
    """A user given write access to one package."""

    __tablename__ = "collaborators"

    package_id: Mapped[int] = mapped_column(
        ForeignKey("packages.id", ondelete="CASCADE"), primary_key=True
    )
    user_id: Mapped[int] = mapped_column(
        ForeignKey("accounts.id", ondelete="CASCADE"), primary_key=True
    )


trigram_index("ix_packages_summary_trgm", func.lower(Package.summary).label("summary_lower"))


class Release(Base):
    __tablename__ = "releases"
    __table_args__ = (UniqueConstraint("package_id", "version"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    package_id: Mapped[int] = mapped_column(ForeignKey("packages.id", ondelete="CASCADE"))
    version: Mapped[str] = mapped_column(String(64))
    summary: Mapped[str] = mapped_column(Text, default="")
    description: Mapped[str] = mapped_column(Text, default="")
    attrs: Mapped[dict[str, Any]] = mapped_column(default=dict)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    modified_at: Mapped[datetime] = mapped_column(default=utcnow)

    package: Mapped[Package] = relationship(back_populates="releases")
    files: Mapped[list[File]] = relationship(
        back_populates="release", cascade="all, delete-orphan", passive_deletes=True
    )


class Blob(Base):
    """Bytes in storage. Several files (copies to other owners) may share one blob."""

    __tablename__ = "blobs"

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    key: Mapped[str] = mapped_column(String(300), unique=True)
    size: Mapped[int] = mapped_column(BigInteger)
    md5: Mapped[str] = mapped_column(String(32))
    sha256: Mapped[str] = mapped_column(String(64), index=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class File(Base):
    """A distribution: one uploaded file of a release, carrying labels."""

    __tablename__ = "files"
    __table_args__ = (
        UniqueConstraint("release_id", "basename"),
        Index("ix_files_package_subdir", "package_id", "subdir"),
        Index("ix_files_filename", "filename"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    package_id: Mapped[int] = mapped_column(
        ForeignKey("packages.id", ondelete="CASCADE"), index=True
    )
    release_id: Mapped[int] = mapped_column(ForeignKey("releases.id", ondelete="CASCADE"))
    basename: Mapped[str] = mapped_column(String(300))
    filename: Mapped[str] = mapped_column(String(256))
    subdir: Mapped[str | None] = mapped_column(String(32), default=None, index=True)
    distribution_type: Mapped[str] = mapped_column(String(16))
    size: Mapped[int] = mapped_column(BigInteger)
    md5: Mapped[str] = mapped_column(String(32))
    sha256: Mapped[str] = mapped_column(String(64))
    attrs: Mapped[dict[str, Any]] = mapped_column(default=dict)
    dependencies: Mapped[dict[str, Any]] = mapped_column(default=dict)
    description: Mapped[str | None] = mapped_column(Text, default=None)
    core_metadata: Mapped[bytes | None] = mapped_column(LargeBinary, default=None)
    #: A conda file's ``channeldata.json`` keys, read from the package at upload
    #: (``inspect/condachannel.py``); ``None`` for files stored before they were kept.
    conda_channel: Mapped[dict[str, Any] | None] = mapped_column(
        JSON(none_as_null=True), default=None
    )
    blob_id: Mapped[str] = mapped_column(ForeignKey("blobs.id"), index=True)
    uploader_id: Mapped[int | None] = mapped_column(
        ForeignKey("accounts.id", ondelete="SET NULL"), default=None
    )
    upload_time: Mapped[datetime] = mapped_column(default=utcnow)
    indexed_at_ms: Mapped[int] = mapped_column(BigInteger, default=0)
    ndownloads: Mapped[int] = mapped_column(Integer, default=0)
    #: When the file was yanked (PEP 592), ``None`` when it is not: it stays stored and
    #: downloadable, but installers skip it (PyPI: unless pinned exactly; conda: always,
    #: the index lists it under ``removed``).
    yanked_at: Mapped[datetime | None] = mapped_column(default=None)
    #: Why, as the owner wrote it ("" or ``None``: no reason given).
    yanked_reason: Mapped[str | None] = mapped_column(Text, default=None)
    #: The mirror this file was copied from (``None``: uploaded here), and the upstream
    #: URL it was fetched from, credentials removed: pages and the API show the origin.
    origin_mirror_id: Mapped[int | None] = mapped_column(
        ForeignKey("mirrors.id", ondelete="SET NULL"), default=None, index=True
    )
    origin_url: Mapped[str | None] = mapped_column(String(1000), default=None)

    release: Mapped[Release] = relationship(back_populates="files")
    package: Mapped[Package] = relationship(foreign_keys=[package_id], viewonly=True)
    blob: Mapped[Blob] = relationship()
    uploader: Mapped[Account | None] = relationship(foreign_keys=[uploader_id])
    labels: Mapped[list[Label]] = relationship(secondary="file_labels", viewonly=True)

    @property
    def yanked(self) -> bool:
        return self.yanked_at is not None


class Label(Base):
    """A label of a namespace (``main``, ``dev``...). Files carry labels; a label can be locked."""

    __tablename__ = "labels"
    __table_args__ = (UniqueConstraint("owner_id", "name"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    owner_id: Mapped[int] = mapped_column(ForeignKey("accounts.id", ondelete="CASCADE"))
    name: Mapped[str] = mapped_column(String(128))
    is_locked: Mapped[bool] = mapped_column(Boolean, default=False)
    #: Does any public package have a file on it? Kept by ``label_visibility.refresh`` in
    #: every transaction that changes the label's files, so that a channel URL can tell
    #: "a label only private packages use" from "no such label" without a scan: both are
    #: "not found" to callers who cannot read those packages.
    has_public_files: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class FileLabel(Base):
    __tablename__ = "file_labels"

    file_id: Mapped[int] = mapped_column(
        ForeignKey("files.id", ondelete="CASCADE"), primary_key=True
    )
    label_id: Mapped[int] = mapped_column(
        ForeignKey("labels.id", ondelete="CASCADE"), primary_key=True, index=True
    )


class Token(Base):
    """An access token. Only a hash of the secret is stored."""

    __tablename__ = "tokens"

    id: Mapped[str] = mapped_column(String(24), primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("accounts.id", ondelete="CASCADE"), index=True)
    account_id: Mapped[int | None] = mapped_column(
        ForeignKey("accounts.id", ondelete="CASCADE"), default=None
    )
    name: Mapped[str] = mapped_column(String(200))
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    scopes: Mapped[list[Any]] = mapped_column(default=list)
    package_id: Mapped[int | None] = mapped_column(
        ForeignKey("packages.id", ondelete="CASCADE"), default=None
    )
    label: Mapped[str | None] = mapped_column(String(128), default=None)
    remote_addr: Mapped[str] = mapped_column(String(64), default="")
    hostname: Mapped[str] = mapped_column(String(200), default="")
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    expires_at: Mapped[datetime | None] = mapped_column(default=None)
    revoked_at: Mapped[datetime | None] = mapped_column(default=None)
    last_used_at: Mapped[datetime | None] = mapped_column(default=None)
    #: None for a token a user made; "jupyterhub" for one a hub's single-user server got.
    origin: Mapped[str | None] = mapped_column(String(32), default=None)

    user: Mapped[Account] = relationship(foreign_keys=[user_id])
    account: Mapped[Account | None] = relationship(foreign_keys=[account_id])
    package: Mapped[Package | None] = relationship()


class UploadStage(Base):
    """Step one of the staged upload: what the client announced, before the bytes arrive."""

    __tablename__ = "upload_stages"

    dist_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    owner_id: Mapped[int] = mapped_column(ForeignKey("accounts.id", ondelete="CASCADE"))
    package_id: Mapped[int] = mapped_column(ForeignKey("packages.id", ondelete="CASCADE"))
    version: Mapped[str] = mapped_column(String(64))
    basename: Mapped[str] = mapped_column(String(300))
    distribution_type: Mapped[str] = mapped_column(String(16))
    description: Mapped[str | None] = mapped_column(Text, default=None)
    labels: Mapped[list[Any]] = mapped_column(default=list)
    sha256: Mapped[str | None] = mapped_column(String(64), default=None)
    created_by_id: Mapped[int] = mapped_column(ForeignKey("accounts.id", ondelete="CASCADE"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    expires_at: Mapped[datetime] = mapped_column()
    state: Mapped[str] = mapped_column(String(16), default="staged")
    blob_id: Mapped[str | None] = mapped_column(String(40), default=None)
    inspected: Mapped[dict[str, Any]] = mapped_column(default=dict)


class WebSession(Base):
    """A browser login. Only a hash of the cookie's secret is stored, like tokens.

    Kept in the database (not in a signed cookie) so that logging out ends the session for
    real and every server process behind a load balancer sees the same sessions.
    """

    __tablename__ = "web_sessions"

    secret_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("accounts.id", ondelete="CASCADE"), index=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(index=True)
    remote_addr: Mapped[str] = mapped_column(String(64), default="")
    user_agent: Mapped[str] = mapped_column(String(200), default="")


class RenderCache(Base):
    """A rendering of stored bytes (e.g. a notebook as sanitised HTML), compressed.

    Keyed by the content's sha256 and the renderer's version, so identical files share one
    rendering and a new renderer simply misses the cache.
    """

    __tablename__ = "render_cache"

    sha256: Mapped[str] = mapped_column(String(64), primary_key=True)
    renderer: Mapped[str] = mapped_column(String(100), primary_key=True)
    content: Mapped[bytes] = mapped_column(LargeBinary)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class IndexState(Base):
    """The revision of one index: conda ``(owner, label, subdir)`` or PyPI ``(owner, label)``.

    The transaction that adds, removes or relabels a file also bumps the revision of every
    index it touches (``indexes/journal.py``), so any server process can tell with one indexed
    look-up whether the documents it built are current. Documents are not stored: each process
    builds them from the rows, deterministically, so equal revisions give equal bytes.
    """

    __tablename__ = "index_states"
    __table_args__ = (UniqueConstraint("owner_id", "kind", "label", "subdir"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    owner_id: Mapped[int] = mapped_column(ForeignKey("accounts.id", ondelete="CASCADE"))
    kind: Mapped[str] = mapped_column(String(8))  # "conda" | "pypi"
    label: Mapped[str] = mapped_column(String(128))
    subdir: Mapped[str] = mapped_column(String(32))  # "" for PyPI
    revision: Mapped[int] = mapped_column(BigInteger, default=0)
    changed_at_ms: Mapped[int] = mapped_column(BigInteger, default=0)
    #: Change-log rows up to this revision were pruned: older caches must rebuild in full.
    pruned_through: Mapped[int] = mapped_column(BigInteger, default=0)


class IndexChange(Base):
    """Which package names a revision of an index changed (lets caches update incrementally)."""

    __tablename__ = "index_changes"
    __table_args__ = (Index("ix_index_changes_index_revision", "index_id", "revision"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    index_id: Mapped[int] = mapped_column(ForeignKey("index_states.id", ondelete="CASCADE"))
    revision: Mapped[int] = mapped_column(BigInteger)
    package_key: Mapped[str] = mapped_column(String(128))
    created_at_ms: Mapped[int] = mapped_column(BigInteger)


class CondaShard(Base):
    """A published CEP-16 shard (zstd msgpack of one package name's records), by content hash.

    Shards outlive the index that listed them for a while (``retired_at_ms``), so clients
    holding an older shard index can still fetch what it names, from any server process.
    """

    __tablename__ = "conda_shards"
    __table_args__ = (Index("ix_conda_shards_index_package", "index_id", "package_key"),)

    index_id: Mapped[int] = mapped_column(
        ForeignKey("index_states.id", ondelete="CASCADE"), primary_key=True
    )
    sha256: Mapped[str] = mapped_column(String(64), primary_key=True)
    package_key: Mapped[str] = mapped_column(String(128))
    data: Mapped[bytes] = mapped_column(LargeBinary)
    published_at_ms: Mapped[int] = mapped_column(BigInteger)
    retired_at_ms: Mapped[int | None] = mapped_column(BigInteger, default=None, index=True)


class CondaRecord(Base):
    """A conda file's repodata record, serialised once (it never changes for a file).

    ``member`` is the ``"<file>":{record}`` JSON member of ``repodata.json``, ``shard_member``
    the msgpack ``file: record`` pair of a CEP-16 shard, ``run_exports`` the file's member of
    ``run_exports.json`` (``NULL`` in rows of format 1), ``name`` the record's name. Index
    builds write rows as they serialise records, so that a process that builds an index
    from scratch (a restart, a new process) joins stored bytes instead of decoding and
    re-encoding every record. ``format`` tells rows of an older serialisation apart.
    """

    __tablename__ = "conda_records"

    file_id: Mapped[int] = mapped_column(
        ForeignKey("files.id", ondelete="CASCADE"), primary_key=True
    )
    format: Mapped[int] = mapped_column(Integer)
    name: Mapped[str] = mapped_column(String(256))
    member: Mapped[bytes] = mapped_column(LargeBinary)
    shard_member: Mapped[bytes] = mapped_column(LargeBinary)
    run_exports: Mapped[bytes | None] = mapped_column(LargeBinary, default=None)


class MirrorKind(StrEnum):
    """Which protocol an upstream speaks."""

    CONDA = "conda"
    PYPI = "pypi"


class MirrorMode(StrEnum):
    """A mirror copies its upstream on sync; a proxy fetches a file on its first request."""

    MIRROR = "mirror"
    PROXY = "proxy"


class Mirror(Base):
    """An upstream conda channel or PyPI index that a namespace copies from or proxies.

    ``config`` holds the filters and options (``services/mirrors.py: MirrorConfig``);
    ``state`` what the last sync left for the next one (validators, cursors). The upstream
    URL may carry a credential (``/t/<token>/``, ``user:password@``) to reach a private
    upstream: it is stored as given, and shown only with the credential masked.
    """

    __tablename__ = "mirrors"
    __table_args__ = (UniqueConstraint("owner_id", "name"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    owner_id: Mapped[int] = mapped_column(ForeignKey("accounts.id", ondelete="CASCADE"))
    name: Mapped[str] = mapped_column(String(64))
    kind: Mapped[str] = mapped_column(String(8))  # MirrorKind
    mode: Mapped[str] = mapped_column(String(8))  # MirrorMode
    upstream_url: Mapped[str] = mapped_column(String(1000))
    label: Mapped[str] = mapped_column(String(128), default="main")
    config: Mapped[dict[str, Any]] = mapped_column(default=dict)
    state: Mapped[dict[str, Any]] = mapped_column(default=dict)
    #: Sync every this many seconds inside the server (``None``: only when asked).
    schedule_seconds: Mapped[int | None] = mapped_column(Integer, default=None)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    #: When a sync last finished (or failed: ``last_error`` says why, ``None`` when it worked).
    last_sync_at: Mapped[datetime | None] = mapped_column(default=None)
    last_error: Mapped[str | None] = mapped_column(Text, default=None)
    #: A sync running now claims the mirror until then (one sync at a time, any process).
    claimed_until: Mapped[datetime | None] = mapped_column(default=None)

    owner: Mapped[Account] = relationship()


class UpstreamDocument(Base):
    """An upstream index document as last fetched: its validators and its bytes in storage.

    Syncs revalidate with ``etag``/``last_modified`` (a 304 transfers nothing); proxies
    answer from the stored bytes while ``fetched_at`` is recent, and keep answering from
    them when the upstream is down.
    """

    __tablename__ = "upstream_documents"

    mirror_id: Mapped[int] = mapped_column(
        ForeignKey("mirrors.id", ondelete="CASCADE"), primary_key=True
    )
    path: Mapped[str] = mapped_column(String(500), primary_key=True)
    etag: Mapped[str | None] = mapped_column(String(300), default=None)
    last_modified: Mapped[str | None] = mapped_column(String(100), default=None)
    content_type: Mapped[str] = mapped_column(String(100), default="")
    blob_id: Mapped[str | None] = mapped_column(ForeignKey("blobs.id"), default=None)
    size: Mapped[int] = mapped_column(BigInteger, default=0)
    sha256: Mapped[str] = mapped_column(String(64), default="")
    fetched_at: Mapped[datetime] = mapped_column(default=utcnow)
