"""The HTTP side of pull-through proxies (``mirroring/proxy.py``): what a channel or simple
index handler does when its namespace proxies an upstream.

Conda: ``repodata.json`` comes from the upstream (checked, cached); the compressed and sharded
variants are "not offered" (404), which conda and rattler read as "use repodata.json"; a
package file is served from the store, fetched and verified first if it is not stored yet.
PyPI: the root and project pages come from the upstream, their file links pointing at this
server (relative, so tokens and path prefixes survive); a file likewise. A private proxy
answers "not found" to those who may not read its namespace, exactly as a missing one.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from sqlalchemy.orm import Session

from jupyter_repo.mirroring.proxy import Document, Proxies, render_project
from jupyter_repo.repository import errors, names
from jupyter_repo.repository.indexes import lookup, pypi
from jupyter_repo.repository.services import proxies
from jupyter_repo.repository.services.proxies import ProxyInfo
from jupyter_repo.server.files import IMMUTABLE, BlobInfo, send_blob

if TYPE_CHECKING:
    from jupyter_repo.server.channels import IndexHandler

PRIVATE_IMMUTABLE = "private, max-age=31536000, immutable"
STALE_WARNING = '110 jupyter-repo "Response is Stale: the upstream could not be reached"'


def proxies_of(handler: IndexHandler) -> Proxies:
    found: Proxies = handler.settings["proxies"]
    return found


async def proxy_for(
    handler: IndexHandler, owner: str, label: str | None, kind: str
) -> ProxyInfo | None:
    """The proxy this request's namespace and label are, or ``None`` (an ordinary one)."""
    return await proxies_of(handler).find(owner, kind, label)


async def require_read(handler: IndexHandler, proxy: ProxyInfo) -> None:
    if proxy.public:
        return
    if not await handler.run(proxies.may_read, handler.actor, proxy):
        raise errors.NotFound(f"The owner {proxy.login!r} does not exist.")


def not_offered(what: str) -> errors.NotFound:
    return errors.NotFound(f"This proxy channel does not offer {what}; use repodata.json.")


def _mark_stale(handler: IndexHandler, document: Document) -> None:
    if document.stale:
        handler.set_header("Warning", STALE_WARNING)


# -- conda ------------------------------------------------------------------------------------


async def send_repodata(handler: IndexHandler, proxy: ProxyInfo, subdir: str) -> None:
    try:
        names.subdir(subdir)
    except errors.InvalidInput:
        raise errors.NotFound("No such channel.") from None
    await require_read(handler, proxy)
    service = proxies_of(handler)
    document = await service.call(service.repodata, proxy, subdir)
    _mark_stale(handler, document)
    await send_blob(
        handler,
        BlobInfo(
            document.key,
            document.size,
            document.sha256,
            "repodata.json",
            document.fetched_at,
            "application/json",
        ),
        cache_control=handler.cache_control() if proxy.public else "private, max-age=0",
        attachment=False,
    )


async def send_conda_file(
    handler: IndexHandler, proxy: ProxyInfo, label: str | None, subdir: str, filename: str
) -> None:
    try:
        names.subdir(subdir)
        names.filename(filename)
    except errors.InvalidInput:
        raise errors.NotFound("No such file in this channel.") from None
    await require_read(handler, proxy)

    def find(session: Session) -> lookup.StoredFile:
        located = lookup.locate_in(
            session, proxy.login, label, "conda", subdir, actor=handler.actor
        )
        return lookup.conda_file(session, handler.actor, located, filename)

    try:
        stored = await handler.run(find)
    except errors.NotFound:
        service = proxies_of(handler)
        listed = await service.call(service.conda_file, proxy, subdir, filename)
        await service.fetch_file(proxy, listed, "conda", f"{subdir}/{filename}")
        stored = await handler.run(find)
    await send_blob(
        handler,
        BlobInfo(stored.key, stored.size, stored.sha256, stored.filename, stored.upload_time),
        cache_control=IMMUTABLE if stored.public else PRIVATE_IMMUTABLE,
        attachment=False,
    )


# -- PyPI -------------------------------------------------------------------------------------


async def root_page(handler: IndexHandler, proxy: ProxyInfo, media_type: str) -> bytes:
    await require_read(handler, proxy)
    service = proxies_of(handler)
    project_names = await service.call(service.root_names, proxy)
    if media_type == pypi.JSON_TYPE:
        return pypi.root_json(project_names)
    return pypi.root_html(project_names)


async def project_page(
    handler: IndexHandler, proxy: ProxyInfo, project: str, media_type: str
) -> bytes:
    await require_read(handler, proxy)
    service = proxies_of(handler)
    files = await service.call(service.project_files, proxy, project)
    return render_project(project, files, json_page=media_type == pypi.JSON_TYPE)


async def send_dist_file(
    handler: IndexHandler, proxy: ProxyInfo, label: str | None, project: str, filename: str
) -> None:
    """A file of a proxied project: from the store, fetched first when not stored yet."""
    await require_read(handler, proxy)
    try:
        names.filename(filename)
    except errors.InvalidInput:
        raise errors.NotFound("No such file of this project in this index.") from None

    def find(session: Session) -> lookup.StoredFile:
        located = lookup.locate_in(session, proxy.login, label, "pypi", None, actor=handler.actor)
        return pypi.project_file(session, handler.actor, located, project, filename)[0]

    try:
        stored = await handler.run(find)
    except errors.NotFound:
        service = proxies_of(handler)
        listed = await service.call(service.pypi_file, proxy, project, filename)
        await service.fetch_file(proxy, listed, "pypi", filename)
        stored = await handler.run(find)
    await send_blob(
        handler,
        BlobInfo(stored.key, stored.size, stored.sha256, stored.filename, stored.upload_time),
        cache_control=IMMUTABLE if stored.public else PRIVATE_IMMUTABLE,
        attachment=False,
    )
