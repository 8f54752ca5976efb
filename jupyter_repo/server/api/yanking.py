"""``/yank/<owner>/<package>/<version>[/<basename>]``: yank (PUT) or un-yank (DELETE) a
whole release or one of its files (PEP 592; ``services/yanking.py`` says what it does)."""

from __future__ import annotations

from dataclasses import asdict

from jupyter_repo.repository.services import yanking
from jupyter_repo.server.api import bodies
from jupyter_repo.server.base import BaseHandler


class YankHandler(BaseHandler):
    async def put(self, owner: str, name: str, version: str, basename: str | None = None) -> None:
        reason = bodies.yank_reason(self.json_body())
        result = await self.run_write(
            yanking.set_yanked,
            self.actor,
            owner,
            name,
            version,
            basename=basename,
            yanked=True,
            reason=reason,
        )
        self.write_json(asdict(result))

    async def delete(
        self, owner: str, name: str, version: str, basename: str | None = None
    ) -> None:
        result = await self.run_write(
            yanking.set_yanked, self.actor, owner, name, version, basename=basename, yanked=False
        )
        self.write_json(asdict(result))
