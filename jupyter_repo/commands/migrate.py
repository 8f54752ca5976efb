"""``jupyter repo migrate``: bring the database schema up to date."""

from __future__ import annotations

from jupyter_repo.commands.base import RepoCommand
from jupyter_repo.repository import db


class MigrateApp(RepoCommand):
    name = "jupyter-repo-migrate"
    description = "Apply the database migrations (also done by 'serve' at start-up)."

    def start(self) -> None:
        repo = self.make_repository(migrate=False)
        try:
            before = db.current_revision(repo.database)
            repo.migrate()
            after = db.current_revision(repo.database)
        finally:
            repo.close()
        print(f"database at revision {after} (was {before or 'empty'})")
