"""``GET /download/<owner>/<package>/<version>/<basename>``: the file's bytes."""

from __future__ import annotations

from sqlalchemy.orm import Session

from jupyter_repo.repository.services import downloads
from jupyter_repo.server.base import BaseHandler
from jupyter_repo.server.files import IMMUTABLE, BlobInfo, send_blob


class DownloadHandler(BaseHandler):
    async def get(self, owner: str, name: str, version: str, basename: str) -> None:
        def locate(session: Session) -> tuple[BlobInfo, bool]:
            file, public = downloads.locate(session, self.actor, owner, name, version, basename)
            info = BlobInfo(
                file.blob.key,
                file.size,
                file.sha256,
                file.filename,
                file.upload_time,
                file_id=file.id,
            )
            return info, public

        blob, public = await self.run(locate)
        await send_blob(self, blob, cache_control=IMMUTABLE if public else "private, max-age=0")
