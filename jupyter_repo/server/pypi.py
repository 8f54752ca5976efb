"""PyPI simple indexes over HTTP: ``/pypi/<owner>[/label/<label>]/simple/...``.

PEP 503 HTML or PEP 691 JSON by content negotiation (``Accept``, or ``?format=``), PEP 503
normalised names (other spellings of a valid name are redirected; a name no package could have
is not found), files and PEP 658 ``.metadata`` next to
the project page. Private projects need a token: in the path (``/pypi/t/<token>/...`` or
``/t/<token>/pypi/...``), as ``Authorization: token|Bearer``, or as the password of HTTP
Basic (``https://__token__:<token>@host/pypi/<owner>/simple``), which pip and uv send.
Pages and the JSON API are gzipped for clients that accept it (``encoding.py``).
Redirects are relative, so the token and any proxy prefix survive them. Pages are rendered
(and their ETags hashed) on a worker thread, never on the event loop.
"""

from __future__ import annotations

import hashlib
import re

from sqlalchemy.orm import Session
from tornado.web import RequestHandler

from jupyter_repo.repository import errors, names
from jupyter_repo.repository.indexes import lookup, pypi, pypi_json
from jupyter_repo.server import proxied
from jupyter_repo.server.base import local_location
from jupyter_repo.server.channels import IndexHandler
from jupyter_repo.server.files import IMMUTABLE, BlobInfo, send_blob

NAMESPACE = r"/pypi/(?P<owner>[^/]+)(?:/label/(?P<label>[^/]+))?"
INDEX = NAMESPACE + r"/simple"
JSON_API = NAMESPACE + r"/pypi/(?P<project>[^/]+)(?:/(?P<version>[^/]+))?/json/?"
JSON_TYPE = "application/json"
PRIVATE_IMMUTABLE = "private, max-age=31536000, immutable"
#: Media types a client may ask for → the one sent (``latest`` is an alias of v1).
OFFERED: dict[str, str] = {
    pypi.JSON_TYPE: pypi.JSON_TYPE,
    pypi.HTML_TYPE: pypi.HTML_TYPE,
    "application/vnd.pypi.simple.latest+json": pypi.JSON_TYPE,
    "application/vnd.pypi.simple.latest+html": pypi.HTML_TYPE,
    "text/html": "text/html",
}


def negotiate(accept: str | None, query_format: str | None = None) -> str | None:
    """PEP 691 content negotiation (an HTTP matter, so here and not in the domain): the
    media type to send, or ``None`` (406).

    No ``Accept`` (or ``*/*``) gets HTML, as PEP 691 recommends for compatibility. The
    ``latest`` aliases answer with the version they stand for (v1), as PEP 691 asks.
    """
    if query_format:
        return OFFERED.get(query_format)
    if not accept:
        return "text/html"
    best: tuple[float, int, str] | None = None
    for position, part in enumerate(accept.split(",")):
        media, *params = (piece.strip() for piece in part.split(";"))
        quality = 1.0
        for param in params:
            name, _, value = param.partition("=")
            if name.strip() == "q":
                try:
                    quality = float(value)
                except ValueError:
                    quality = 0.0
        if quality <= 0:
            continue
        if media in ("*/*", "application/*", "text/*"):
            candidate = "text/html" if media != "application/*" else pypi.JSON_TYPE
        else:
            candidate = OFFERED.get(media)  # type: ignore[assignment]
        if candidate is None:
            continue
        rank = (quality, -position, candidate)
        if best is None or rank[:2] > best[:2]:
            best = rank
    return best[2] if best is not None else None


class _SimpleHandler(IndexHandler):
    def media_type(self) -> str | None:
        """The negotiated media type; ``None`` after answering 406 Not Acceptable."""
        chosen = negotiate(
            self.request.headers.get("Accept"), self.get_query_argument("format", None)
        )
        if chosen is None:
            self.set_status(406)
            self.render_error(
                406,
                f"Not acceptable: this index offers {pypi.JSON_TYPE}, "
                f"{pypi.HTML_TYPE} and text/html.",
            )
        return chosen

    async def send_page(self, page: tuple[bytes, str], media_type: str) -> None:
        body, etag = page
        content_type = media_type + ("; charset=utf-8" if "html" in media_type else "")
        await self.send_document(
            body,
            etag,
            changed_at_ms=0,
            content_type=content_type,
            cache_control=self.cache_control(),
            vary="Accept, Authorization",
        )

    async def post(self, *_args: str, **_kwargs: str | None) -> None:
        """A publisher aimed at the simple index (``--repository-url …/simple/``, a common
        slip): say where uploads go, in the reason phrase too (twine prints only that)."""
        self.set_status(405, reason="Upload to the index root, not to simple/")
        self.set_header("Allow", "GET, HEAD")
        self.render_error(
            405,
            "This is the index's simple/ page, for installers. Upload (POST) to the index "
            "root instead: this URL without simple/ and what follows it "
            "(e.g. https://host/pypi/<owner>/).",
        )

    def redirect_relative(self, location: str) -> None:
        self.set_status(301)
        self.set_header("Location", local_location(location))
        self.set_header(
            "Cache-Control", "no-store" if not self.actor.anonymous else "public, max-age=3600"
        )
        self.finish()


class SimpleRedirectHandler(_SimpleHandler):
    """``.../simple`` → ``.../simple/``."""

    async def get(self, owner: str, label: str | None) -> None:
        await self.run(lookup.locate_in, owner, label, "pypi", None, actor=self.actor)
        self.redirect_relative("simple/")


class SimpleRootHandler(_SimpleHandler):
    """The list of projects."""

    async def get(self, owner: str, label: str | None) -> None:
        media_type = self.media_type()
        if media_type is None:
            return
        proxy = await proxied.proxy_for(self, owner, label, "pypi")
        if proxy is not None:
            body = await proxied.root_page(self, proxy, media_type)
            await self.send_page(await self.run_blocking(_with_etag, body), media_type)
            return

        def render(session: Session) -> tuple[bytes, str]:
            located = lookup.locate_in(session, owner, label, "pypi", None, actor=self.actor)
            projects = pypi.projects(session, self.actor, located)
            return _with_etag(
                pypi.root_json(projects)
                if media_type == pypi.JSON_TYPE
                else pypi.root_html(projects)
            )

        await self.send_page(await self.run(render), media_type)


class ProjectHandler(_SimpleHandler):
    """One project's files (``/simple/<project>/``); other spellings are redirected."""

    async def get(self, owner: str, label: str | None, project: str, slash: str = "/") -> None:
        normalized = project_name(project)
        if normalized != project or not slash:
            await self.run(lookup.locate_in, owner, label, "pypi", None, actor=self.actor)
            prefix = "../" if slash else ""
            self.redirect_relative(f"{prefix}{normalized}/")
            return
        media_type = self.media_type()
        if media_type is None:
            return
        proxy = await proxied.proxy_for(self, owner, label, "pypi")
        if proxy is not None:
            body = await proxied.project_page(self, proxy, normalized, media_type)
            await self.send_page(await self.run_blocking(_with_etag, body), media_type)
            return

        def render(session: Session) -> tuple[bytes, str]:
            located = lookup.locate_in(session, owner, label, "pypi", None, actor=self.actor)
            found = pypi.project_files(session, self.actor, located, normalized)
            return _with_etag(
                pypi.project_json(normalized, found)
                if media_type == pypi.JSON_TYPE
                else pypi.project_html(normalized, found)
            )

        await self.send_page(await self.run(render), media_type)


class DistFileHandler(IndexHandler):
    """A distribution file, or its core metadata at ``<file>.metadata`` (PEP 658)."""

    async def get(self, owner: str, label: str | None, project: str, filename: str) -> None:
        wants_metadata = filename.endswith(".metadata")
        name = filename[: -len(".metadata")] if wants_metadata else filename
        normalized = project_name(project)
        proxy = await proxied.proxy_for(self, owner, label, "pypi")
        if proxy is not None and not wants_metadata:
            await proxied.send_dist_file(self, proxy, label, normalized, filename)
            return

        def find(session: Session) -> tuple[lookup.StoredFile, bytes | None, str]:
            located = lookup.locate_in(session, owner, label, "pypi", None, actor=self.actor)
            stored, metadata = pypi.project_file(session, self.actor, located, normalized, name)
            digest = hashlib.sha256(metadata).hexdigest() if metadata is not None else ""
            return stored, metadata, digest

        stored, metadata, digest = await self.run(find)
        cache_control = IMMUTABLE if stored.public else PRIVATE_IMMUTABLE
        if wants_metadata:
            if metadata is None:
                raise errors.NotFound("This file has no separate metadata.")
            self.send_bytes(
                metadata,
                digest,
                changed_at_ms=0,
                content_type="text/plain; charset=utf-8",
                cache_control=cache_control,
            )
            return
        await send_blob(
            self,
            BlobInfo(
                stored.key,
                stored.size,
                stored.sha256,
                stored.filename,
                stored.upload_time,
                file_id=stored.file_id,
            ),
            cache_control=cache_control,
            attachment=False,
        )


class ProjectJsonHandler(IndexHandler):
    """Warehouse's JSON API: ``/pypi/<project>/json`` and ``/pypi/<project>/<version>/json``
    below the namespace (and label), next to ``simple/``."""

    async def get(self, owner: str, label: str | None, project: str, version: str | None) -> None:
        normalized = project_name(project)
        if version is not None and not _VERSION.fullmatch(version):
            raise errors.NotFound("No such release of this project in this index.")
        if normalized != project:
            await self.run(lookup.locate_in, owner, label, "pypi", None, actor=self.actor)
            up = "../../" if version is not None else "../"
            tail = f"{version}/json" if version is not None else "json"
            self.set_status(301)
            self.set_header("Location", local_location(f"{up}{normalized}/{tail}"))
            self.set_header("Cache-Control", "no-store")
            self.finish()
            return
        base = self.base_url()
        path_token = getattr(self.request, "path_token", None)

        def render(session: Session) -> tuple[bytes, str]:
            located = lookup.locate_in(session, owner, label, "pypi", None, actor=self.actor)
            namespace = f"{base}{f'/t/{path_token}' if path_token else ''}/pypi/{located.login}"
            if label is not None:
                namespace += f"/label/{located.key.label}"
            urls = pypi_json.Urls(simple=f"{namespace}/simple/", json=f"{namespace}/pypi/")
            return _with_etag(
                pypi_json.project_document(session, self.actor, located, normalized, version, urls)
            )

        body, etag = await self.run(render)
        await self.send_document(
            body,
            etag,
            changed_at_ms=0,
            content_type=JSON_TYPE,
            cache_control=self.cache_control(),
            vary="Authorization",
        )


#: What a version in a URL may hold (PEP 440 and legacy spellings; nothing else reaches a
#: query or a redirect).
_VERSION = re.compile(r"[A-Za-z0-9][A-Za-z0-9._+!-]{0,63}")


def project_name(project: str) -> str:
    """The PEP 503 form of a project name from the URL; one no package can have is not found.

    Only a valid name is ever echoed into a redirect, so a ``Location`` holds nothing but
    letters, digits, ``-`` and ``+`` (never ``\\host``, ``//host`` or ``scheme:``).
    """
    try:
        return names.project_key(project)
    except errors.InvalidInput:
        raise errors.NotFound("No such project in this index.") from None


def _with_etag(body: bytes) -> tuple[bytes, str]:
    """A page and its (content-derived) validator, computed on a worker thread."""
    return body, hashlib.blake2b(body, digest_size=16).hexdigest()


ROUTES: list[tuple[str, type[RequestHandler]]] = [
    (INDEX, SimpleRedirectHandler),
    (INDEX + r"/", SimpleRootHandler),
    (INDEX + r"/(?P<project>[^/]+)(?P<slash>/?)", ProjectHandler),
    (INDEX + r"/(?P<project>[^/]+)/(?P<filename>[^/]+)", DistFileHandler),
    (JSON_API, ProjectJsonHandler),
]
