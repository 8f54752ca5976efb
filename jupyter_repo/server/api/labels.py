"""Labels (``/channels/...``, the API's old name for them) and ``/copy/package/...``."""

from __future__ import annotations

from typing import Any

from sqlalchemy.orm import Session

from jupyter_repo.repository import errors
from jupyter_repo.repository.services import labels
from jupyter_repo.server.api import bodies
from jupyter_repo.server.api import representations as rep
from jupyter_repo.server.base import BaseHandler


def _created(handler: BaseHandler) -> None:
    handler.set_status(201)  # anaconda-client accepts only 201 for label changes
    handler.finish()


class LabelsHandler(BaseHandler):
    async def get(self, owner: str) -> None:
        self.write_json(await self.run(labels.summary, self.actor, owner))


class LabelHandler(BaseHandler):
    async def get(self, owner: str, label: str) -> None:
        urls = rep.Urls(self.base_url())

        def show(session: Session) -> dict[str, Any]:
            row, files = labels.label_files(session, self.actor, owner, label)
            result = []
            for item in files:
                package = item.release.package
                result.append(
                    rep.file(session, item, package, package.owner, urls, item.release.version)
                )
            return {"name": row.name, "is_locked": row.is_locked, "files": result}

        self.write_json(await self.run(show))

    async def post(self, owner: str, label: str) -> None:
        selection = bodies.file_selection(self.json_body())
        await self.run_write(labels.add_files, self.actor, owner, label, selection)
        _created(self)

    async def delete(self, owner: str, label: str) -> None:
        selection = bodies.file_selection(self.json_body())
        await self.run_write(labels.remove_files, self.actor, owner, label, selection)
        _created(self)


class LabelCopyHandler(BaseHandler):
    async def post(self, owner: str, label: str, to_label: str) -> None:
        await self.run_write(labels.copy_label, self.actor, owner, label, to_label)
        _created(self)


class LabelLockHandler(BaseHandler):
    async def post(self, owner: str, label: str) -> None:
        await self.run_write(labels.set_locked, self.actor, owner, label, True)
        _created(self)

    async def delete(self, owner: str, label: str) -> None:
        await self.run_write(labels.set_locked, self.actor, owner, label, False)
        _created(self)


class CopyHandler(BaseHandler):
    """``POST|PUT|PATCH /copy/package/<owner>/<package>/<version>/[<basename>]``."""

    async def _copy(
        self, owner: str, name: str, version: str, basename: str | None, mode: str
    ) -> None:
        body = self.json_body()
        for key in ("to_owner", "from_channel", "to_channel"):
            if body.get(key) is not None and not isinstance(body[key], str):
                raise errors.InvalidInput(f"{key} must be a string.")

        copied = await self.run_write(
            labels.copy_files,
            self.repo.store,
            self.actor,
            owner,
            name,
            version,
            basename or None,
            to_owner=body.get("to_owner"),
            from_label=body.get("from_channel") or "main",
            to_label=body.get("to_channel") or "main",
            mode=mode,
        )
        self.write_json([{"basename": item} for item in copied])

    async def post(self, owner: str, name: str, version: str, basename: str = "") -> None:
        await self._copy(owner, name, version, basename, "copy")

    async def put(self, owner: str, name: str, version: str, basename: str = "") -> None:
        await self._copy(owner, name, version, basename, "replace")

    async def patch(self, owner: str, name: str, version: str, basename: str = "") -> None:
        await self._copy(owner, name, version, basename, "update")
