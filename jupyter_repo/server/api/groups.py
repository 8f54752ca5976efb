"""Organizations' groups: ``/groups/<org>`` and ``/group/<org>/<group>/...``."""

from __future__ import annotations

from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from jupyter_repo.repository.models import GroupMember
from jupyter_repo.repository.services import orgs
from jupyter_repo.server.api import representations as rep
from jupyter_repo.server.base import BaseHandler


def _no_content(handler: BaseHandler) -> None:
    handler.set_status(204)  # anaconda-client accepts only 204 for group changes
    handler.finish()


def _count_members(session: Session, group_id: int) -> int:
    return session.scalar(select(func.count()).where(GroupMember.group_id == group_id)) or 0


class GroupsHandler(BaseHandler):
    async def get(self, org: str) -> None:
        def listing(session: Session) -> dict[str, Any]:
            groups = orgs.list_groups(session, self.actor, org)
            return {"groups": [rep.group(g, _count_members(session, g.id)) for g in groups]}

        self.write_json(await self.run(listing))


class GroupHandler(BaseHandler):
    async def get(self, org: str, name: str) -> None:
        def show(session: Session) -> dict[str, Any]:
            group = orgs.get_group(session, self.actor, org, name)
            return rep.group(group, _count_members(session, group.id))

        self.write_json(await self.run(show))

    async def post(self, org: str, name: str) -> None:
        body = self.json_body()
        permission = body.get("perms") or body.get("permission") or "read"
        await self.run_write(orgs.create_group, self.actor, org, name, permission)
        _no_content(self)

    async def delete(self, org: str, name: str) -> None:
        await self.run_write(orgs.delete_group, self.actor, org, name)
        _no_content(self)


class GroupMembersHandler(BaseHandler):
    async def get(self, org: str, name: str) -> None:
        self.write_json(
            await self.run(
                lambda s: [
                    {"login": u.login, "name": u.name}
                    for u in orgs.members(s, self.actor, org, name)
                ]
            )
        )


class GroupMemberHandler(BaseHandler):
    async def get(self, org: str, name: str, login: str) -> None:
        if await self.run(orgs.is_member, self.actor, org, name, login):
            _no_content(self)
        else:
            self.write_json({"error": f"{login} is not a member of {org}/{name}."}, status=404)

    async def put(self, org: str, name: str, login: str) -> None:
        await self.run_write(orgs.add_member, self.actor, org, name, login)
        _no_content(self)

    async def delete(self, org: str, name: str, login: str) -> None:
        await self.run_write(orgs.remove_member, self.actor, org, name, login)
        _no_content(self)


class GroupPackagesHandler(BaseHandler):
    async def get(self, org: str, name: str) -> None:
        self.write_json(
            await self.run(
                lambda s: [
                    {"full_name": f"{org}/{p.name}", "name": p.name, "summary": p.summary}
                    for p in orgs.group_packages(s, self.actor, org, name)
                ]
            )
        )


class GroupPackageHandler(BaseHandler):
    async def put(self, org: str, name: str, package: str) -> None:
        await self.run_write(orgs.add_package, self.actor, org, name, package)
        _no_content(self)

    async def delete(self, org: str, name: str, package: str) -> None:
        await self.run_write(orgs.remove_package, self.actor, org, name, package)
        _no_content(self)
