"""Packages, releases, files, search and collaborators."""

from __future__ import annotations

from typing import Any

from sqlalchemy.orm import Session

from jupyter_repo.repository import errors
from jupyter_repo.repository.services import packages, search
from jupyter_repo.server.api import bodies
from jupyter_repo.server.api import representations as rep
from jupyter_repo.server.base import BaseHandler


def _int_argument(handler: BaseHandler, name: str, default: int) -> int:
    value = handler.get_query_argument(name, None)
    if value in (None, ""):
        return default
    try:
        return int(value)
    except ValueError:
        raise errors.InvalidInput(f"{name} must be a whole number.") from None


class PackageHandler(BaseHandler):
    """``/package/<owner>/<package>``: show, create, update, remove."""

    async def get(self, owner: str, name: str) -> None:
        urls = rep.Urls(self.base_url())
        self.write_json(
            await self.run(
                lambda s: rep.package(
                    s, packages.get_package(s, self.actor, owner, name), urls, self.actor
                )
            )
        )

    async def post(self, owner: str, name: str) -> None:
        attrs, public = bodies.new_package(self.json_body())
        urls = rep.Urls(self.base_url())

        def create(session: Session) -> dict[str, Any]:
            row = packages.create_package(
                session, self.actor, owner, name, public=public, attrs=attrs
            )
            return rep.package(session, row, urls, self.actor)

        # anaconda-client requires 200 (201 is an error for it).
        self.write_json(await self.run_write(create))

    async def patch(self, owner: str, name: str) -> None:
        attrs, public = bodies.package_update(self.json_body(required=True))
        urls = rep.Urls(self.base_url())
        self.write_json(
            await self.run_write(
                lambda s: rep.package(
                    s,
                    packages.update_package(s, self.actor, owner, name, attrs, public=public),
                    urls,
                    self.actor,
                ),
            )
        )

    async def delete(self, owner: str, name: str) -> None:
        await self.run_write(packages.delete_package, self.repo.store, self.actor, owner, name)
        self.set_status(201)
        self.finish()


class ReleaseHandler(BaseHandler):
    """``/release/<owner>/<package>/<version>``."""

    async def get(self, owner: str, name: str, version: str) -> None:
        urls = rep.Urls(self.base_url())
        self.write_json(
            await self.run(
                lambda s: rep.release(
                    s, packages.get_release(s, self.actor, owner, name, version), urls, self.actor
                )
            )
        )

    async def post(self, owner: str, name: str, version: str) -> None:
        attrs = bodies.release_attrs(self.json_body())
        urls = rep.Urls(self.base_url())
        self.write_json(
            await self.run_write(
                lambda s: rep.release(
                    s,
                    packages.create_release(s, self.actor, owner, name, version, attrs),
                    urls,
                    self.actor,
                ),
            )
        )

    async def patch(self, owner: str, name: str, version: str) -> None:
        attrs = bodies.release_update(self.json_body(required=True))
        urls = rep.Urls(self.base_url())
        self.write_json(
            await self.run_write(
                lambda s: rep.release(
                    s,
                    packages.update_release(s, self.actor, owner, name, version, attrs),
                    urls,
                    self.actor,
                ),
            )
        )

    async def delete(self, owner: str, name: str, version: str) -> None:
        await self.run_write(
            packages.delete_release, self.repo.store, self.actor, owner, name, version
        )
        self.set_status(201)
        self.finish()


class DistHandler(BaseHandler):
    """``/dist/<owner>/<package>/<version>/<basename>``: show or remove one file."""

    async def get(self, owner: str, name: str, version: str, basename: str) -> None:
        urls = rep.Urls(self.base_url())

        def show(session: Session) -> dict[str, Any]:
            row = packages.get_file(session, self.actor, owner, name, version, basename)
            package = row.release.package
            return rep.file(session, row, package, package.owner, urls, version)

        self.write_json(await self.run(show))

    async def delete(self, owner: str, name: str, version: str, basename: str) -> None:
        removed = await self.run_write(
            packages.delete_file, self.repo.store, self.actor, owner, name, version, basename
        )
        self.write_json(removed)  # anaconda-client needs 200 with a JSON body


class PackagesHandler(BaseHandler):
    """``GET /packages/<owner>``: the visible packages of a namespace."""

    async def get(self, owner: str) -> None:
        urls = rep.Urls(self.base_url())
        package_type = self.get_query_argument("package_type", None) or self.get_query_argument(
            "type", None
        )
        platform = self.get_query_argument("platform", None)

        def listing(session: Session) -> list[dict[str, Any]]:
            rows = packages.list_packages(
                session, self.actor, owner, package_type=package_type, platform=platform
            )
            return rep.package_summaries(session, rows, urls, self.actor)

        self.write_json(await self.run(listing))


class SearchHandler(BaseHandler):
    """``GET /search?name=Q[&type=T][&platform=P][&label=L][&page=N&per_page=M]``."""

    async def get(self) -> None:
        urls = rep.Urls(self.base_url())
        query = self.get_query_argument("name", None) or self.get_query_argument("q", "") or ""
        package_type = self.get_query_argument("type", None)
        platform = self.get_query_argument("platform", None)
        label = self.get_query_argument("label", None)
        owner = self.get_query_argument("owner", None)
        page = _int_argument(self, "page", 1)
        per_page = _int_argument(self, "per_page", 100)

        def run_search(session: Session) -> tuple[list[dict[str, Any]], int]:
            result = search.search(
                session,
                self.actor,
                query,
                package_type=package_type,
                platform=platform,
                label=label,
                owner=owner,
                page=page,
                per_page=per_page,
            )
            return rep.package_summaries(session, result.packages, urls, self.actor), result.total

        items, total = await self.run(run_search)
        self.set_header("X-Total-Count", str(total))
        self.write_json(items)


class CollaboratorsHandler(BaseHandler):
    async def get(self, owner: str, name: str) -> None:
        self.write_json(
            await self.run(
                lambda s: [
                    {"login": user.login, "name": user.name}
                    for user in packages.list_collaborators(s, self.actor, owner, name)
                ]
            )
        )


class CollaboratorHandler(BaseHandler):
    async def put(self, owner: str, name: str, login: str) -> None:
        await self.run_write(packages.add_collaborator, self.actor, owner, name, login)
        self.set_status(201)
        self.finish()

    async def delete(self, owner: str, name: str, login: str) -> None:
        await self.run_write(packages.remove_collaborator, self.actor, owner, name, login)
        self.set_status(201)
        self.finish()
