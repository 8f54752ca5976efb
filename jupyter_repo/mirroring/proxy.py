"""Pull-through proxies: index documents from the upstream (cached, revalidated), package
files fetched on first request, verified, stored, and served from the store ever after.

A namespace with a proxy (``jupyter repo mirror add ... --proxy``) answers conda
``repodata.json`` and PyPI ``simple/`` requests from its upstream. Each document is kept in
the database and blob store (``services/proxies.py``) with the upstream's validators, so every
process behind a load balancer shares one cache: it is reused for ``index_ttl_seconds``, then
revalidated (a 304 only refreshes ``fetched_at``); when the upstream is down or errs, the copy
is served stale with a warning in the log, and with nothing cached the answer is a 502 naming
the upstream (credentials masked).

Everything the upstream says is checked once, when it is fetched, before it is stored: file
names must pass ``repository/names.py`` (a listing of ``../../x.conda`` is dropped, never
fetched), hashes must be sha256 hex, file URLs must be http(s); what fails is left out of the
documents this server sends and logged. A file is fetched once (one fetch per file in a
process; a second process losing the race finds the file stored), checked against the sha256
and size its index promised, and ingested like an upload (``mirroring/ingest.py``).

Blocking work (HTTP, storage, parsing) runs on this module's own threads, never on the loop.
"""

from __future__ import annotations

import asyncio
import hashlib
import html.parser
import json
import logging
import threading
import time
from collections import OrderedDict
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from typing import Any, TypeVar
from urllib.parse import unquote, urldefrag, urljoin, urlsplit

from packaging.utils import (
    InvalidSdistFilename,
    InvalidWheelFilename,
    parse_sdist_filename,
    parse_wheel_filename,
)
from sqlalchemy.exc import IntegrityError
from tornado.ioloop import IOLoop
from traitlets import Float, Integer, List, Unicode
from traitlets.config import LoggingConfigurable

from jupyter_repo import bounded_json
from jupyter_repo.mirroring.ingest import UpstreamFile, fetch_and_ingest
from jupyter_repo.mirroring.upstream import PYPI_FILE_HOSTS, Upstream, UpstreamError, Validators
from jupyter_repo.repository import errors, names
from jupyter_repo.repository.core import Repository
from jupyter_repo.repository.indexes import pypi
from jupyter_repo.repository.models import Mirror, utcnow
from jupyter_repo.repository.permissions import Actor
from jupyter_repo.repository.services import blobs, mirrors, proxies
from jupyter_repo.repository.services.proxies import CachedDocument, ProxyInfo

log = logging.getLogger("jupyter_repo.proxy")
T = TypeVar("T")
MIB = 1 << 20
SHA256_HEX = frozenset("0123456789abcdef")
#: What the proxy asks a PyPI upstream for: PEP 691 JSON, else PEP 503 HTML.
PYPI_ACCEPT = (
    "application/vnd.pypi.simple.v1+json, application/vnd.pypi.simple.v1+html;q=0.2, "
    "text/html;q=0.1"
)
#: The stored form of a PyPI page: the upstream's page checked and reduced to what we serve.
CHECKED_PYPI_TYPE = "application/x-jupyter-repo-proxy+json"
#: Keys of repodata.json a proxy passes on as they are (after checking the records).
KNOWN_REPODATA_KEYS = ("info", "packages", "packages.conda", "removed", "repodata_version")
#: Parsed documents kept per process (by content hash): a big repodata is parsed once.
PARSED_CACHE_SIZE = 8


@dataclass(frozen=True)
class Document:
    """A proxied document as stored: where its bytes are and what it is."""

    key: str
    size: int
    sha256: str
    content_type: str
    fetched_at: datetime
    #: True when the upstream could not be asked and this copy is older than the TTL.
    stale: bool = False


@dataclass(frozen=True)
class ListedFile:
    """A file an upstream index lists, as checked: a safe name, a sha256, an http(s) URL."""

    filename: str
    url: str
    sha256: str
    size: int | None
    package: str
    version: str
    requires_python: str | None = None
    yanked: bool | str = False


def _aware(moment: datetime) -> datetime:
    return moment if moment.tzinfo else moment.replace(tzinfo=timezone.utc)


def _is_sha256(value: object) -> bool:
    return isinstance(value, str) and len(value) == 64 and set(value.lower()) <= SHA256_HEX


# -- checking what upstreams send ------------------------------------------------------------


def check_repodata(body: bytes, subdir: str) -> tuple[bytes, dict[str, ListedFile], int]:
    """A conda ``repodata.json`` as this server may send it, its files, and how many records
    were dropped (unsafe file names, no sha256, names that disagree with the file).

    ``info.base_url`` (CEP 15) is removed too: clients must fetch files from this server,
    relative to the channel, never from wherever the upstream points them.
    """
    try:
        document = bounded_json.loads(body)
    except bounded_json.JSONRefused as error:
        raise ValueError(f"sent a repodata.json that is not valid JSON ({error})") from None
    if not isinstance(document, dict):
        raise ValueError("sent a repodata.json that is not a JSON object")
    files: dict[str, ListedFile] = {}
    dropped = 0
    changed = False
    info = document.get("info")
    if isinstance(info, dict) and "base_url" in info:
        del info["base_url"]
        changed = True
    for section, value in document.items():
        if section not in KNOWN_REPODATA_KEYS and isinstance(value, dict) and value:
            document[section] = {}  # records of other layouts (v3): a proxy serves none
            changed = True
    for section in ("packages", "packages.conda"):
        records = document.get(section)
        if records is None:
            continue
        if not isinstance(records, dict):
            raise ValueError(f"sent a repodata.json whose {section!r} is not an object")
        for filename in list(records):
            record = records[filename]
            listed = _conda_record(filename, record, subdir)
            if listed is None:
                del records[filename]
                dropped += 1
                changed = True
            else:
                files[filename] = listed
    if changed:
        body = json.dumps(document, separators=(",", ":")).encode()
    return body, files, dropped


def _conda_record(filename: str, record: object, subdir: str) -> ListedFile | None:
    if not isinstance(record, dict):
        return None
    try:
        names.filename(filename)
        package = names.package(str(record.get("name", "")))
        version = names.version(str(record.get("version", "")))
    except errors.InvalidInput:
        return None
    if not filename.endswith((".conda", ".tar.bz2")):
        return None
    if not filename.lower().startswith(f"{package.lower()}-{version.lower()}-"):
        return None
    sha256 = record.get("sha256")
    size = record.get("size")
    if not _is_sha256(sha256) or not isinstance(size, int) or size < 0:
        return None
    assert isinstance(sha256, str)
    return ListedFile(filename, f"{subdir}/{filename}", sha256.lower(), size, package, version)


def _pypi_name_version(filename: str) -> tuple[str, str] | None:
    """The (PEP 503 name, version) a distribution's file name gives, or ``None``."""
    try:
        if filename.endswith(".whl"):
            name, version, _build, _tags = parse_wheel_filename(filename)
        else:
            name, version = parse_sdist_filename(filename)
    except (InvalidWheelFilename, InvalidSdistFilename):
        return None
    return str(name), str(version)


def _pypi_file(
    project: str,
    filename: object,
    url: object,
    sha256: object,
    *,
    base: str,
    size: object = None,
    requires_python: object = None,
    yanked: object = False,
) -> ListedFile | None:
    """One checked entry of a project page, or ``None`` (dropped) when anything is off."""
    if not isinstance(filename, str) or not isinstance(url, str):
        return None
    try:
        names.filename(filename)
    except errors.InvalidInput:
        return None
    parsed = _pypi_name_version(filename)
    if parsed is None or parsed[0] != project or not _is_sha256(sha256):
        return None  # not a distribution of this project, or no hash to verify it by
    version = parsed[1]
    absolute = urldefrag(urljoin(base, url)).url
    parts = urlsplit(absolute)
    if parts.scheme not in ("http", "https") or unquote(parts.path).rsplit("/", 1)[-1] != filename:
        return None  # a file is fetched only from an http(s) URL ending in its own name
    assert isinstance(sha256, str)
    if not isinstance(size, int) or isinstance(size, bool) or size < 0:
        size = None
    if not isinstance(requires_python, str) or len(requires_python) > 200:
        requires_python = None
    if not isinstance(yanked, (bool, str)):
        yanked = bool(yanked)
    if isinstance(yanked, str) and len(yanked) > 500:
        yanked = yanked[:500]
    return ListedFile(
        filename, absolute, sha256.lower(), size, project, version, requires_python, yanked
    )


class _LinkParser(html.parser.HTMLParser):
    """The ``<a>`` elements of a PEP 503 page with their attributes."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.links: list[tuple[dict[str, str | None], str]] = []
        self._current: dict[str, str | None] | None = None
        self._text: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "a":
            self._current = dict(attrs)
            self._text = []

    def handle_data(self, data: str) -> None:
        if self._current is not None:
            self._text.append(data)

    def handle_endtag(self, tag: str) -> None:
        if tag == "a" and self._current is not None:
            self.links.append((self._current, "".join(self._text).strip()))
            self._current = None


def check_project_page(
    body: bytes, content_type: str, project: str, base: str
) -> tuple[list[ListedFile], int]:
    """The files of an upstream project page (PEP 691 JSON or PEP 503 HTML), checked, and
    how many entries were dropped."""
    files: list[ListedFile] = []
    dropped = 0
    if "json" in content_type:
        try:
            document = bounded_json.loads(body)
        except bounded_json.JSONRefused as error:
            raise ValueError(f"sent a project page that is not valid JSON ({error})") from None
        entries = document.get("files") if isinstance(document, dict) else None
        if not isinstance(entries, list):
            raise ValueError("sent a PEP 691 project page without a list of files")
        for entry in entries:
            listed = None
            if isinstance(entry, dict):
                hashes = entry.get("hashes")
                listed = _pypi_file(
                    project,
                    entry.get("filename"),
                    entry.get("url"),
                    hashes.get("sha256") if isinstance(hashes, dict) else None,
                    base=base,
                    size=entry.get("size"),
                    requires_python=entry.get("requires-python"),
                    yanked=entry.get("yanked", False),
                )
            if listed is None:
                dropped += 1
            else:
                files.append(listed)
        return files, dropped
    parser = _LinkParser()
    try:
        parser.feed(body.decode("utf-8", errors="replace"))
        parser.close()
    except (ValueError, AssertionError) as error:
        raise ValueError(f"sent a project page that is not HTML ({error})") from None
    for attributes, text in parser.links:
        href = attributes.get("href") or ""
        fragment = urldefrag(href).fragment
        algorithm, _, digest = fragment.partition("=")
        yanked = attributes.get("data-yanked", False)
        listed = _pypi_file(
            project,
            text or urldefrag(href).url.rsplit("/", 1)[-1],
            href,
            digest if algorithm == "sha256" else None,
            base=base,
            requires_python=attributes.get("data-requires-python"),
            yanked=yanked if yanked is not None else "",
        )
        if listed is None:
            dropped += 1
        else:
            files.append(listed)
    return files, dropped


def check_root_page(body: bytes, content_type: str) -> tuple[list[str], int]:
    """The project names of an upstream root page, in their PEP 503 form; invalid ones
    dropped (and counted)."""
    raw: list[object] = []
    if "json" in content_type:
        try:
            document = bounded_json.loads(body)
        except bounded_json.JSONRefused as error:
            raise ValueError(f"sent a root page that is not valid JSON ({error})") from None
        projects = document.get("projects") if isinstance(document, dict) else None
        if not isinstance(projects, list):
            raise ValueError("sent a PEP 691 root page without a list of projects")
        raw = [item.get("name") if isinstance(item, dict) else None for item in projects]
    else:
        parser = _LinkParser()
        parser.feed(body.decode("utf-8", errors="replace"))
        parser.close()
        raw = [text for _attributes, text in parser.links]
    found: set[str] = set()
    dropped = 0
    for name in raw:
        try:
            found.add(names.project_key(name if isinstance(name, str) else ""))
        except errors.InvalidInput:
            dropped += 1
    return sorted(found), dropped


def _encode_files(files: list[ListedFile]) -> bytes:
    return json.dumps(
        {
            "files": [
                {
                    "filename": item.filename,
                    "url": item.url,
                    "sha256": item.sha256,
                    "size": item.size,
                    "package": item.package,
                    "version": item.version,
                    "requires_python": item.requires_python,
                    "yanked": item.yanked,
                }
                for item in files
            ]
        },
        separators=(",", ":"),
    ).encode()


def decode_files(body: bytes) -> list[ListedFile]:
    """The checked files stored for a project page (written by :func:`_encode_files`)."""
    return [ListedFile(**item) for item in json.loads(body)["files"]]


# -- the proxies of one server process -------------------------------------------------------


class Proxies(LoggingConfigurable):
    """The server's pull-through proxies: the table of proxied namespaces (re-read every
    ``refresh_seconds``), cached documents, and file fetches (each once at a time)."""

    max_document_size = Integer(
        512 * MIB,
        help="Largest index document (repodata.json, a simple/ page) taken from a proxy's "
        "upstream; a larger one is an upstream error (502, or the cached copy).",
    ).tag(config=True)
    refresh_seconds = Float(
        5.0, help="How often the list of proxied namespaces is re-read from the database."
    ).tag(config=True)
    document_threads = Integer(
        4,
        help="Threads asking proxies' upstreams for index documents (and reading them from "
        "the cache); the request threads stay free while an upstream is slow.",
    ).tag(config=True)
    fetch_threads = Integer(
        4,
        help="Threads downloading files from proxies' upstreams on first request; more "
        "first requests at once wait for one.",
    ).tag(config=True)
    timeout = Float(30.0, help="Seconds to wait for a proxy's upstream to answer.").tag(config=True)
    retry_seconds = Float(
        30.0,
        help="After an upstream failed to answer for a document, serve the cached copy "
        "without asking it again for this long (a down upstream costs one timeout, not one "
        "per request).",
    ).tag(config=True)
    file_hosts = List(
        Unicode(),
        sorted(PYPI_FILE_HOSTS),
        help="Hosts, besides the upstream's own, that a PyPI upstream's pages may send the "
        "proxy to for files (PyPI keeps its files there). Links to any other host are "
        "dropped: a hostile index cannot make this server fetch from inside its network.",
    ).tag(config=True)

    def __init__(self, repository: Repository, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.repo = repository
        self.executor = ThreadPoolExecutor(self.document_threads, thread_name_prefix="proxy-doc")
        self.fetch_executor = ThreadPoolExecutor(self.fetch_threads, thread_name_prefix="proxy-get")
        self._table_executor = ThreadPoolExecutor(1, thread_name_prefix="proxy-table")
        self._table: dict[tuple[str, str], ProxyInfo] = {}
        self._table_read_at = -1e9
        self._table_reading: asyncio.Future[dict[tuple[str, str], ProxyInfo]] | None = None
        self._upstreams: dict[tuple[int, str], Upstream] = {}
        self._locks: dict[tuple[int, str], threading.Lock] = {}
        self._failed_at: dict[tuple[int, str], float] = {}
        self._guard = threading.Lock()
        self._parsed: OrderedDict[str, Any] = OrderedDict()
        self._inflight: dict[tuple[int, str], asyncio.Future[None]] = {}

    async def _run(self, function: Callable[..., T], *args: Any) -> T:
        return await IOLoop.current().run_in_executor(self.executor, function, *args)

    # -- which namespaces are proxies ----------------------------------------------------

    async def find(self, owner: str, kind: str, label: str | None) -> ProxyInfo | None:
        """The proxy answering ``/<kind>/<owner>[/label/<label>]``, if any (a dictionary
        look-up; the table is re-read at most every ``refresh_seconds``, by one request
        while the others wait for it, on a thread of its own)."""
        if time.monotonic() - self._table_read_at > self.refresh_seconds:
            if self._table_reading is None:
                self._table_reading = asyncio.ensure_future(
                    IOLoop.current().run_in_executor(
                        self._table_executor, self.repo.read, proxies.all_proxies
                    )
                )
            reading = self._table_reading
            try:
                table = await asyncio.shield(reading)
            finally:
                if self._table_reading is reading and reading.done():
                    self._table_reading = None
            if reading.done() and not reading.exception():
                self._table, self._table_read_at = table, time.monotonic()
        proxy = self._table.get((owner.lower(), kind))
        if proxy is None or (label or names.DEFAULT_LABEL).lower() != proxy.label:
            return None
        return proxy

    def allowed_file_url(self, proxy: ProxyInfo, url: str) -> bool:
        """May a file of ``proxy`` be fetched from ``url``? The upstream's own host (and
        port), or one of :attr:`file_hosts`."""
        target = urlsplit(url)
        own = urlsplit(proxy.upstream_url)
        if (target.hostname, target.port) == (own.hostname, own.port):
            return True
        return target.hostname is not None and target.hostname.lower() in {
            host.lower() for host in self.file_hosts
        }

    def upstream(self, proxy: ProxyInfo) -> Upstream:
        with self._guard:
            key = (proxy.mirror_id, proxy.upstream_url)
            found = self._upstreams.get(key)
            if found is None:
                found = self._upstreams[key] = Upstream(proxy.upstream_url, timeout=self.timeout)
            return found

    def _lock(self, mirror_id: int, path: str) -> threading.Lock:
        with self._guard:
            return self._locks.setdefault((mirror_id, path), threading.Lock())

    # -- documents -----------------------------------------------------------------------

    def document(
        self,
        proxy: ProxyInfo,
        path: str,
        check: Callable[[bytes, str, str], tuple[bytes, str]],
        *,
        accept: str | None = None,
        absent: bytes | None = None,
    ) -> Document:
        """The document at ``path`` of the upstream, from the cache while fresh (blocking).

        ``check(body, content_type, url)`` turns what the upstream sent into what is stored
        (or raises ``ValueError`` saying what is wrong with it). When the upstream has no
        such document (404), ``absent`` is stored and sent in its place if given (an empty
        repodata for a subdir the upstream lacks, which clients ask for whether or not it
        exists: it must also answer while the upstream is down), else it is "not found".
        """
        cached = self.repo.read(proxies.cached_document, proxy.mirror_id, path)
        if self._fresh(proxy, cached):
            assert cached is not None
            return self._from_cache(cached)
        with self._lock(proxy.mirror_id, path):  # one fetch of a document per process
            cached = self.repo.read(proxies.cached_document, proxy.mirror_id, path)
            if self._fresh(proxy, cached):
                assert cached is not None
                return self._from_cache(cached)
            failed_at = self._failed_at.get((proxy.mirror_id, path))
            recently_failed = (
                failed_at is not None and time.monotonic() - failed_at < self.retry_seconds
            )
            if recently_failed and cached is not None and cached.key is not None:
                return self._from_cache(cached, stale=True)
            return self._refresh(proxy, path, cached, check, accept, absent)

    def _fresh(self, proxy: ProxyInfo, cached: CachedDocument | None) -> bool:
        if cached is None or cached.key is None:
            return False
        age = utcnow() - _aware(cached.fetched_at)
        return age < timedelta(seconds=proxy.index_ttl_seconds)

    @staticmethod
    def _from_cache(cached: CachedDocument, *, stale: bool = False) -> Document:
        assert cached.key is not None
        return Document(
            cached.key,
            cached.size,
            cached.sha256,
            cached.content_type,
            _aware(cached.fetched_at),
            stale,
        )

    def _refresh(
        self,
        proxy: ProxyInfo,
        path: str,
        cached: CachedDocument | None,
        check: Callable[[bytes, str, str], tuple[bytes, str]],
        accept: str | None,
        absent: bytes | None,
    ) -> Document:
        upstream = self.upstream(proxy)
        have = cached is not None and cached.key is not None
        validators = Validators(cached.etag, cached.last_modified) if have and cached else None
        try:
            fetched = upstream.get_document(
                path, validators, max_size=self.max_document_size, accept=accept
            )
            if fetched.not_modified:
                assert cached is not None
                now = utcnow()
                self.repo.write(proxies.touch_document, proxy.mirror_id, path, now)
                self._failed_at.pop((proxy.mirror_id, path), None)
                return Document(
                    cached.key or "", cached.size, cached.sha256, cached.content_type, now
                )
            try:
                body, content_type = check(fetched.body, fetched.content_type, fetched.url)
            except ValueError as problem:
                raise UpstreamError(fetched.url, str(problem)) from None
        except UpstreamError as error:
            if error.status not in (404, 410):
                self._failed_at[(proxy.mirror_id, path)] = time.monotonic()
            if error.status in (404, 410) and absent is not None:
                return self._store(proxy, path, absent, "application/json", Validators())
            if error.status in (404, 410):
                raise errors.NotFound(
                    f"The upstream of this proxy has no such document ({error})."
                ) from None
            if have and cached is not None:
                log.warning(
                    "proxy %s (%s): %s; serving the copy fetched at %s",
                    proxy.login,
                    proxy.kind,
                    error,
                    cached.fetched_at.isoformat(),
                )
                return self._from_cache(cached, stale=True)
            log.warning("proxy %s (%s): %s; nothing cached", proxy.login, proxy.kind, error)
            raise errors.UpstreamUnavailable(
                f"This proxy's upstream could not answer and nothing is cached yet: {error}"
            ) from None
        self._failed_at.pop((proxy.mirror_id, path), None)
        return self._store(proxy, path, body, content_type, fetched.validators)

    def _store(
        self, proxy: ProxyInfo, path: str, body: bytes, content_type: str, validators: Validators
    ) -> Document:
        store = self.repo.store
        spool = store.new_spool(max(self.max_document_size, len(body)))
        try:
            spool.write(body)
            spool.finish()
            blob_id, key = blobs.store_spool(store, spool.path)
        finally:
            spool.discard()
        now = utcnow()
        new = proxies.NewDocument(
            blob_id=blob_id,
            key=key,
            size=spool.size,
            md5=spool.md5,
            sha256=spool.sha256,
            etag=validators.etag,
            last_modified=validators.last_modified,
            content_type=content_type,
            fetched_at=now,
        )
        try:
            self.repo.write(proxies.save_document, store, proxy.mirror_id, path, new)
        except BaseException:
            store.delete(key)
            raise
        return Document(key, new.size, new.sha256, content_type, now)

    def read_bytes(self, document: Document) -> bytes:
        """A (checked, bounded) stored document's bytes (blocking)."""
        return b"".join(self.repo.store.open_range(document.key, 0, document.size))

    def _remember(self, sha256: str, value: Any) -> None:
        with self._guard:
            self._parsed[sha256] = value
            self._parsed.move_to_end(sha256)
            while len(self._parsed) > PARSED_CACHE_SIZE:
                self._parsed.popitem(last=False)

    def parsed(self, document: Document, parse: Callable[[bytes], T], kind: str) -> T:
        """``parse`` of a stored document's bytes, kept per content and ``kind`` of parse
        (blocking)."""
        key = f"{document.sha256}:{kind}"
        with self._guard:
            if key in self._parsed:
                self._parsed.move_to_end(key)
                found: T = self._parsed[key]
                return found
        value = parse(self.read_bytes(document))
        self._remember(key, value)
        return value

    # -- conda ---------------------------------------------------------------------------

    def repodata(self, proxy: ProxyInfo, subdir: str) -> Document:
        """``<subdir>/repodata.json`` of the upstream, checked (blocking)."""

        def check(body: bytes, content_type: str, url: str) -> tuple[bytes, str]:
            checked, _files, dropped = check_repodata(body, subdir)
            if dropped:
                log.warning(
                    "proxy %s: dropped %d record(s) of %s (unsafe names, no sha256)",
                    proxy.login,
                    dropped,
                    mirrors.mask_url(url),
                )
            return checked, "application/json"

        empty = {"info": {"subdir": subdir}, "packages": {}, "packages.conda": {}}
        return self.document(
            proxy,
            f"{subdir}/repodata.json",
            check,
            absent=json.dumps(empty, separators=(",", ":")).encode(),
        )

    def conda_file(self, proxy: ProxyInfo, subdir: str, filename: str) -> ListedFile:
        """What the upstream's repodata says of ``filename``; 404 when it lists no such file."""
        document = self.repodata(proxy, subdir)

        def parse(body: bytes) -> dict[str, ListedFile]:
            return check_repodata(body, subdir)[1]

        listed = self.parsed(document, parse, f"conda-{subdir}").get(filename)
        if listed is None:
            raise errors.NotFound("No such file in this channel.")
        return listed

    # -- PyPI ----------------------------------------------------------------------------

    def project_page(self, proxy: ProxyInfo, project: str) -> Document:
        """The upstream's page of ``project`` (PEP 503 name), checked into our stored form."""

        def check(body: bytes, content_type: str, url: str) -> tuple[bytes, str]:
            checked, dropped = check_project_page(body, content_type, project, url)
            files = [item for item in checked if self.allowed_file_url(proxy, item.url)]
            dropped += len(checked) - len(files)
            if dropped:
                log.warning(
                    "proxy %s: dropped %d file(s) of %s (unsafe names, no sha256, bad URLs)",
                    proxy.login,
                    dropped,
                    mirrors.mask_url(url),
                )
            return _encode_files(files), CHECKED_PYPI_TYPE

        return self.document(proxy, f"{project}/", check, accept=PYPI_ACCEPT)

    def project_files(self, proxy: ProxyInfo, project: str) -> list[ListedFile]:
        return self.parsed(self.project_page(proxy, project), decode_files, "files")

    def root_names(self, proxy: ProxyInfo) -> list[str]:
        def check(body: bytes, content_type: str, url: str) -> tuple[bytes, str]:
            found, _dropped = check_root_page(body, content_type)
            return json.dumps(found).encode(), CHECKED_PYPI_TYPE

        document = self.document(proxy, "", check, accept=PYPI_ACCEPT)
        return self.parsed(document, json.loads, "names")

    def pypi_file(self, proxy: ProxyInfo, project: str, filename: str) -> ListedFile:
        for item in self.project_files(proxy, project):
            if item.filename == filename:
                return item
        raise errors.NotFound("No such file of this project in this index.")

    # -- files ---------------------------------------------------------------------------

    def _ingest(
        self, proxy: ProxyInfo, listed: ListedFile, distribution_type: str, basename: str
    ) -> None:
        """Fetch, verify and store one file (blocking); a copy stored meanwhile by another
        process is as good (its unique row wins the race)."""

        def actor_of(session: Any) -> Actor:
            mirror = session.get(Mirror, proxy.mirror_id)
            if mirror is None:
                raise errors.NotFound("This proxy no longer exists.")
            return mirrors.mirror_actor(session, mirror)

        actor = self.repo.read(actor_of)
        if listed.size is not None and listed.size > self.repo.max_upload_size:
            raise errors.UpstreamUnavailable(
                f"The upstream's {listed.filename} ({listed.size} bytes) is larger than this "
                f"server's limit of {self.repo.max_upload_size} bytes."
            )
        item = UpstreamFile(
            url=listed.url,
            package=listed.package,
            version=listed.version,
            basename=basename,
            distribution_type=distribution_type,
            sha256=listed.sha256,
            size=listed.size,
        )
        try:
            fetch_and_ingest(
                self.repo,
                actor,
                self.upstream(proxy),
                proxy.login,
                proxy.mirror_id,
                item,
                labels=(proxy.label,),
                public=proxy.public,
            )
        except (errors.Conflict, IntegrityError):
            return  # stored meanwhile (another request, another process)
        except UpstreamError as error:
            log.warning("proxy %s: %s", proxy.login, error)
            raise errors.UpstreamUnavailable(
                f"The file could not be fetched from this proxy's upstream: {error}"
            ) from None
        except errors.NotFound:
            raise
        except errors.RepositoryError as refused:
            log.warning("proxy %s refused %s: %s", proxy.login, listed.url, refused.message)
            raise errors.UpstreamUnavailable(
                f"The upstream's file {listed.filename} was refused: {refused.message}"
            ) from None
        log.info("proxy %s stored %s", proxy.login, mirrors.mask_url(listed.url))

    async def fetch_file(
        self, proxy: ProxyInfo, listed: ListedFile, distribution_type: str, basename: str
    ) -> None:
        """Fetch and store a file once, however many requests ask for it at the same time."""
        key = (proxy.mirror_id, basename)
        future = self._inflight.get(key)
        if future is None:
            future = asyncio.ensure_future(
                IOLoop.current().run_in_executor(
                    self.fetch_executor, self._ingest, proxy, listed, distribution_type, basename
                )
            )
            self._inflight[key] = future
            future.add_done_callback(lambda done: self._inflight.pop(key, None))
        await asyncio.shield(future)

    async def call(self, function: Callable[..., T], *args: Any) -> T:
        """Run a blocking proxy step on the proxy threads."""
        return await self._run(function, *args)

    def close(self) -> None:
        for executor in (self.executor, self.fetch_executor, self._table_executor):
            executor.shutdown(wait=False, cancel_futures=True)
        for upstream in self._upstreams.values():
            upstream.close()


def etag_of(document: Document) -> str:
    return f"proxy-{document.sha256[:40]}"


def content_etag(body: bytes) -> str:
    return "proxy-" + hashlib.blake2b(body, digest_size=16).hexdigest()


def render_project(project: str, files: list[ListedFile], *, json_page: bool) -> bytes:
    """A proxied project's page (PEP 691 JSON or PEP 503 HTML), its links relative: each
    file is downloaded from this server, next to the page, and keeps the upstream's sha256.
    No PEP 658 metadata is announced (it exists here only once the file is stored)."""
    if json_page:
        entries: list[dict[str, Any]] = []
        for item in files:
            entry: dict[str, Any] = {
                "filename": item.filename,
                "url": item.filename,
                "hashes": {"sha256": item.sha256},
                "requires-python": item.requires_python,
                "yanked": item.yanked,
            }
            if item.size is not None:
                entry["size"] = item.size
            entries.append(entry)
        return json.dumps(
            {
                # PEP 700 (1.1) requires sizes, which a PEP 503 upstream does not give.
                "meta": {"api-version": "1.1" if all("size" in e for e in entries) else "1.0"},
                "name": project,
                "files": entries,
                "versions": sorted({item.version for item in files}),
            },
            separators=(",", ":"),
        ).encode()
    epoch = datetime.fromtimestamp(0, tz=timezone.utc)
    return pypi.project_html(
        project,
        [
            pypi.DistFile(
                filename=item.filename,
                version=item.version,
                sha256=item.sha256,
                size=item.size or 0,
                upload_time=epoch,
                requires_python=item.requires_python,
                metadata_sha256=None,
                yanked=item.yanked is not False,
                yanked_reason=item.yanked if isinstance(item.yanked, str) else "",
            )
            for item in files
        ],
    )
