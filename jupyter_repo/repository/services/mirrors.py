"""Mirrors and proxies: which upstream a namespace copies from, with which filters.

This module keeps the records (``models.Mirror``) and the rules about them: names, upstream
URLs, options, who may change them, which actor a sync acts as. Fetching from an upstream is
not the domain's job: ``jupyter_repo/mirroring/`` does it and ingests what it fetched
through the ordinary upload services, so that mirrored files are inspected, hashed and
indexed like any other.
"""

from __future__ import annotations

import re
from dataclasses import asdict, dataclass, field, fields
from datetime import date, datetime, timedelta
from typing import Any
from urllib.parse import urlsplit, urlunsplit

from packaging.requirements import InvalidRequirement, Requirement
from sqlalchemy import or_, select, update
from sqlalchemy.orm import Session

from jupyter_repo.repository import names
from jupyter_repo.repository.errors import Conflict, InvalidInput, NotFound
from jupyter_repo.repository.models import Account, Mirror, MirrorKind, MirrorMode, utcnow
from jupyter_repo.repository.permissions import Actor, Level, require_account
from jupyter_repo.repository.services import accounts

#: Mirror names: like logins (they appear in commands and on pages).
MIRROR_NAME_RE = re.compile(r"^[a-z0-9][a-z0-9_-]{0,63}$")
#: A credential in an upstream URL's path, as this server and anaconda.org carry it.
PATH_TOKEN_RE = re.compile(r"/t/[^/]+(?=/|$)")
#: The site's operator, as mirror commands and the server's scheduler act: they run on the
#: server with its configuration, so they may manage any namespace's mirrors.
OPERATOR = Actor(user_id=-1, login="operator", is_site_admin=True, cap=Level.ADMIN)
#: The shortest schedule accepted: a sync every minute is already more than upstreams like.
MIN_SCHEDULE_SECONDS = 60


@dataclass(frozen=True)
class MirrorConfig:
    """A mirror's filters and options; stored as JSON in ``Mirror.config``.

    Conda: ``subdirs`` to copy; ``include``/``exclude`` are package names or match specs;
    ``licenses_allow``/``licenses_deny`` compare the record's ``license`` (case-insensitive);
    ``newer_than``/``older_than`` are ISO dates compared with the record's timestamp;
    ``latest`` keeps the newest N versions of each name. PyPI: ``include`` are requirement
    specs, ``with_dependencies`` adds their closure for ``python_versions`` and
    ``platforms``. Both: ``keep_removed`` keeps files the upstream dropped; ``public`` is the
    visibility of packages a sync creates; ``index_ttl_seconds`` is how long a proxy answers
    index requests from its copy before revalidating with the upstream.
    """

    subdirs: tuple[str, ...] = ()
    include: tuple[str, ...] = ()
    exclude: tuple[str, ...] = ()
    licenses_allow: tuple[str, ...] = ()
    licenses_deny: tuple[str, ...] = ()
    newer_than: str | None = None
    older_than: str | None = None
    latest: int | None = None
    keep_removed: bool = True
    public: bool = True
    with_dependencies: bool = False
    python_versions: tuple[str, ...] = ()
    platforms: tuple[str, ...] = ()
    index_ttl_seconds: int = 300

    def __post_init__(self) -> None:
        for name in ("newer_than", "older_than"):
            value = getattr(self, name)
            if value is not None:
                try:
                    date.fromisoformat(value[:10])
                except ValueError:
                    message = f"{name} must be a date (YYYY-MM-DD), not {value!r}."
                    raise InvalidInput(message) from None
        if self.latest is not None and self.latest < 1:
            raise InvalidInput("latest must be at least 1.")
        if self.index_ttl_seconds < 0:
            raise InvalidInput("index_ttl_seconds may not be negative.")
        for subdir in self.subdirs:
            names.subdir(subdir)

    def to_json(self) -> dict[str, Any]:
        return {
            key: list(value) if isinstance(value, tuple) else value
            for key, value in asdict(self).items()
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> MirrorConfig:
        known = {item.name for item in fields(cls)}
        values: dict[str, Any] = {
            key: tuple(value) if isinstance(value, list) else value
            for key, value in data.items()
            if key in known
        }
        return cls(**values)

    def newer_than_date(self) -> datetime | None:
        return _parse_date(self.newer_than)

    def older_than_date(self) -> datetime | None:
        return _parse_date(self.older_than)


def _parse_date(value: str | None) -> datetime | None:
    if value is None:
        return None
    parsed = datetime.fromisoformat(value)
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=utcnow().tzinfo)


@dataclass(frozen=True)
class MirrorSpec:
    """What ``mirror add`` asks for."""

    owner: str
    name: str
    kind: str
    upstream_url: str
    mode: str = MirrorMode.MIRROR
    label: str = "main"
    schedule_seconds: int | None = None
    config: MirrorConfig = field(default_factory=MirrorConfig)


def mask_url(url: str) -> str:
    """The URL with any credential replaced by ``***`` (for listings, logs and errors)."""
    parts = urlsplit(url)
    netloc = parts.netloc
    if "@" in netloc:
        netloc = "***@" + netloc.rsplit("@", 1)[1]
    path = PATH_TOKEN_RE.sub("/t/***", parts.path)
    query = "***" if parts.query else ""
    return urlunsplit((parts.scheme, netloc, path, query, ""))


def clean_url(url: str) -> str:
    """The URL with any credential removed: what a file's ``origin_url`` records."""
    parts = urlsplit(url)
    netloc = parts.netloc.rsplit("@", 1)[-1]
    return urlunsplit((parts.scheme, netloc, PATH_TOKEN_RE.sub("", parts.path), "", ""))


def check_upstream_url(url: str) -> str:
    """An http(s) URL of a channel or index root, without fragment; ends with ``/``."""
    parts = urlsplit(url.strip())
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise InvalidInput(f"The upstream must be an http:// or https:// URL, not {url!r}.")
    if parts.fragment:
        raise InvalidInput("The upstream URL may not have a fragment (#...).")
    path = parts.path if parts.path.endswith("/") else parts.path + "/"
    return urlunsplit((parts.scheme, parts.netloc, path, parts.query, ""))


def _check_spec(spec: MirrorSpec) -> None:
    if not MIRROR_NAME_RE.match(spec.name):
        raise InvalidInput(
            f"Invalid mirror name {spec.name!r}: lowercase letters, digits, '-' and '_'."
        )
    if spec.kind not in {kind.value for kind in MirrorKind}:
        raise InvalidInput(f"The kind must be conda or pypi, not {spec.kind!r}.")
    if spec.mode not in {mode.value for mode in MirrorMode}:
        raise InvalidInput(f"The mode must be mirror or proxy, not {spec.mode!r}.")
    names.label(spec.label)
    if spec.schedule_seconds is not None and spec.schedule_seconds < MIN_SCHEDULE_SECONDS:
        raise InvalidInput(f"A schedule must be at least {MIN_SCHEDULE_SECONDS} seconds.")
    if spec.kind == MirrorKind.CONDA and spec.mode == MirrorMode.MIRROR and not spec.config.subdirs:
        raise InvalidInput("A conda mirror needs at least one subdir (--subdir noarch ...).")


def _check_requirements(config: MirrorConfig) -> None:
    """A PyPI mirror copies what its requirement specs admit: at least one, all readable."""
    if not config.include:
        raise InvalidInput("A PyPI mirror needs at least one requirement (--include 'name>=1').")
    for option, specs in (("include", config.include), ("exclude", config.exclude)):
        for spec in specs:
            try:
                Requirement(spec)
            except InvalidRequirement as error:
                reason = str(error).splitlines()[0]
                message = f"The {option} {spec!r} is not a requirement spec: {reason}"
                raise InvalidInput(message) from None


def add_mirror(session: Session, actor: Actor, spec: MirrorSpec) -> Mirror:
    """Record a new mirror or proxy of ``spec.owner`` (admins of the namespace only)."""
    _check_spec(spec)
    account = accounts.get_account(session, spec.owner)
    require_account(session, actor, account, Level.ADMIN)
    if spec.kind == MirrorKind.PYPI and spec.mode == MirrorMode.MIRROR:
        _check_requirements(spec.config)
    if session.scalar(
        select(Mirror).where(Mirror.owner_id == account.id, Mirror.name == spec.name)
    ):
        raise Conflict(f"{spec.owner} already has a mirror named {spec.name}.")
    if spec.mode == MirrorMode.PROXY and session.scalar(
        select(Mirror).where(
            Mirror.owner_id == account.id,
            Mirror.mode == MirrorMode.PROXY,
            Mirror.kind == spec.kind,
        )
    ):
        raise Conflict(f"{spec.owner} already proxies a {spec.kind} upstream.")
    mirror = Mirror(
        owner_id=account.id,
        name=spec.name,
        kind=spec.kind,
        mode=spec.mode,
        upstream_url=check_upstream_url(spec.upstream_url),
        label=spec.label,
        config=spec.config.to_json(),
        state={},
        schedule_seconds=spec.schedule_seconds,
    )
    session.add(mirror)
    session.flush()
    return mirror


def _owner(session: Session, actor: Actor, owner: str, needed: Level) -> Account:
    account = accounts.get_account(session, owner)
    require_account(session, actor, account, needed)
    return account


def list_mirrors(session: Session, actor: Actor, owner: str | None = None) -> list[Mirror]:
    """Mirrors of one namespace (its admins), or of every namespace (site admins)."""
    query = select(Mirror).order_by(Mirror.owner_id, Mirror.name)
    if owner is not None:
        query = query.where(Mirror.owner_id == _owner(session, actor, owner, Level.ADMIN).id)
    elif not actor.is_site_admin:
        raise NotFound("Name a namespace: only site admins list every mirror.")
    return list(session.scalars(query))


def get_mirror(session: Session, actor: Actor, owner: str, name: str) -> Mirror:
    account = _owner(session, actor, owner, Level.ADMIN)
    mirror = session.scalar(
        select(Mirror).where(Mirror.owner_id == account.id, Mirror.name == name)
    )
    if mirror is None:
        raise NotFound(f"{owner} has no mirror named {name}.")
    return mirror


def proxy_of(session: Session, owner_id: int, kind: str) -> Mirror | None:
    """The proxy of a namespace for one protocol, if it is one (no permission check: the
    caller is answering an index request and checks reads itself)."""
    return session.scalar(
        select(Mirror).where(
            Mirror.owner_id == owner_id, Mirror.kind == kind, Mirror.mode == MirrorMode.PROXY
        )
    )


def remove_mirror(session: Session, actor: Actor, owner: str, name: str) -> None:
    """Forget a mirror; the files it copied stay, still marked with its upstream URL."""
    session.delete(get_mirror(session, actor, owner, name))


def mirror_actor(session: Session, mirror: Mirror) -> Actor:
    """Who a sync acts as: the namespace itself, with a site admin's reach.

    Files a sync stores name the namespace as their uploader; the sync may create packages
    and labels there, as the admin who added the mirror allowed.
    """
    owner = session.get(Account, mirror.owner_id)
    if owner is None:
        raise NotFound("The mirror's namespace no longer exists.")
    return Actor(user_id=owner.id, login=owner.login, is_site_admin=True, cap=Level.ADMIN)


def config_of(mirror: Mirror) -> MirrorConfig:
    return MirrorConfig.from_json(mirror.config)


def claim(session: Session, mirror_id: int, seconds: int, *, force: bool = False) -> bool:
    """Claim a mirror for a sync (one at a time across processes); False if another runs.

    ``force`` takes the claim even from a running sync: for the operator who knows that the
    sync holding it crashed."""
    now = utcnow()
    free = or_(Mirror.claimed_until.is_(None), Mirror.claimed_until < now)
    result = session.execute(
        update(Mirror)
        .where(Mirror.id == mirror_id, *(() if force else (free,)))
        .values(claimed_until=now + timedelta(seconds=seconds))
    )
    return bool(getattr(result, "rowcount", 0))


def finish_sync(
    session: Session, mirror_id: int, state: dict[str, Any] | None, error: str | None
) -> None:
    """Record the end of a sync: the state it leaves (when it worked), its error, the time."""
    mirror = session.get(Mirror, mirror_id)
    if mirror is None:
        return
    if state is not None:
        mirror.state = state
    mirror.last_error = error
    mirror.last_sync_at = utcnow()
    mirror.claimed_until = None


def due_mirrors(session: Session) -> list[int]:
    """Mirrors whose schedule says a sync is due now (for the server's scheduler)."""
    now = utcnow()
    due = []
    for mirror in session.scalars(select(Mirror).where(Mirror.schedule_seconds.is_not(None))):
        last = mirror.last_sync_at
        assert mirror.schedule_seconds is not None
        if last is None or last + timedelta(seconds=mirror.schedule_seconds) <= now:
            due.append(mirror.id)
    return due


def describe(mirror: Mirror) -> dict[str, Any]:
    """A mirror as listings show it: the upstream's credential masked."""
    return {
        "owner": mirror.owner.login,
        "name": mirror.name,
        "kind": mirror.kind,
        "mode": mirror.mode,
        "upstream": mask_url(mirror.upstream_url),
        "label": mirror.label,
        "schedule_seconds": mirror.schedule_seconds,
        "config": mirror.config,
        "last_sync_at": mirror.last_sync_at.isoformat() if mirror.last_sync_at else None,
        "last_error": mirror.last_error,
    }
