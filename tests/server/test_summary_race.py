"""A package summary read while a new release of it commits (PostgreSQL reads every
statement at the latest commit): found by the soak on PostgreSQL, where such uploads
answered 500 because the summary's file rows named a release its release rows had not."""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy import event, insert, select

from jupyter_repo.repository.core import Repository
from jupyter_repo.repository.models import Blob, File, Package, Release
from jupyter_repo.repository.permissions import ANONYMOUS
from jupyter_repo.repository.services import accounts
from jupyter_repo.server.api import representations as rep
from tests.support.services import PostgreSQL


def _file(package_id: int, release_id: int, version: str) -> dict[str, Any]:
    return {
        "package_id": package_id,
        "release_id": release_id,
        "basename": f"noarch/racy-{version}-0.conda",
        "filename": f"racy-{version}-0.conda",
        "subdir": "noarch",
        "distribution_type": "conda",
        "size": 1,
        "md5": "0" * 32,
        "sha256": "0" * 64,
        "attrs": {"build": "0"},
        "dependencies": {},
        "blob_id": "blob",
    }


def test_a_release_committed_during_a_summary_is_shown_whole(postgres: PostgreSQL) -> None:
    repo = Repository(db_url=postgres.create_database(f"race_{uuid.uuid4().hex[:8]}"))
    repo.migrate()
    try:
        owner = repo.call(
            lambda s: accounts.password_actor(accounts.create_user(s, "racer", "password-123")),
            write=True,
        )

        def first_release(session: Any) -> int:
            session.add(Blob(id="blob", key="bl/ob/blob", size=1, md5="0" * 32, sha256="0" * 64))
            package = Package(
                owner_id=owner.user_id, name="racy", name_key="racy", pypi_key="racy", summary=""
            )
            session.add(package)
            session.flush()
            release = Release(package_id=package.id, version="1.0")
            session.add(release)
            session.flush()
            session.execute(insert(File), [_file(package.id, release.id, "1.0")])
            return package.id

        package_id = repo.call(first_release, write=True)
        engine = repo.database.engine
        committed: list[str] = []

        def commit_a_release_first(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
            # Just before the summary reads its file rows: another transaction commits 2.0.
            if committed or "FROM files" not in statement:
                return
            committed.append(statement)
            with engine.begin() as other:
                release_id = other.execute(
                    insert(Release).returning(Release.id),
                    [{"package_id": package_id, "version": "2.0", "attrs": {}}],
                ).scalar_one()
                other.execute(insert(File), [_file(package_id, release_id, "2.0")])

        event.listen(engine, "before_cursor_execute", commit_a_release_first)
        try:
            summary = repo.call(
                lambda s: rep.package_summaries(
                    s,
                    list(s.scalars(select(Package).where(Package.id == package_id))),
                    rep.Urls("http://repo.test"),
                    ANONYMOUS,
                )[0]
            )
        finally:
            event.remove(engine, "before_cursor_execute", commit_a_release_first)
        assert committed, "the race was not staged"
        assert summary["versions"] == ["1.0", "2.0"] and summary["latest_version"] == "2.0"
        assert summary["platforms"] == {"noarch": "2.0"} and summary["revision"] == 2
    finally:
        repo.close()
