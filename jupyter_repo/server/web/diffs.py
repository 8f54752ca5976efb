"""``/<owner>/<package>/diff/<old version>/<new version>``: what changed between the
notebooks of two versions, computed by nbdime in a render worker (:mod:`notebook_diff`)."""

from __future__ import annotations

from typing import Any

from jupyter_repo.repository import names
from jupyter_repo.repository.services import listings
from jupyter_repo.server.web.base import WebHandler, path_name
from jupyter_repo.server.web.file_pages import PENDING_REFRESH
from jupyter_repo.server.web.previews import NotebookPreviews, StoredNotebook


def _stored(found: listings.NotebookFile) -> StoredNotebook:
    return StoredNotebook(found.sha256, found.blob_key, found.size, found.filename)


class NotebookDiffHandler(WebHandler):
    async def get(self, owner: str, name: str, old_version: str, new_version: str) -> None:
        pair = await self.run(
            listings.notebook_pair,
            self.actor,
            path_name(names.login, owner),
            path_name(names.package, name),
            path_name(names.version, old_version),
            path_name(names.version, new_version),
        )
        previews: NotebookPreviews = self.settings["notebook_previews"]
        preview = await previews.diff(_stored(pair.old), _stored(pair.new))
        context: dict[str, Any] = {"pair": pair, "preview": preview}
        if preview.pending:
            self.set_header("Refresh", str(PENDING_REFRESH))
            context["refresh_seconds"] = PENDING_REFRESH
        if preview.html is None:
            self.render_page("notebook_diff.html", **context)
        else:
            await self.render_page_around("notebook_diff.html", preview.html, **context)
