"""Shared pieces of the subcommands: configuration of the repository they act on."""

from __future__ import annotations

from typing import NoReturn

from jupyter_core.application import JupyterApp, base_aliases, base_flags
from traitlets import default

from jupyter_repo import __version__
from jupyter_repo.repository.core import Repository
from jupyter_repo.repository.storage.s3 import S3Store

repository_aliases = {
    **base_aliases,
    "db-url": "Repository.db_url",
    "data-dir": "Repository.data_dir",
    "max-upload-size": "Repository.max_upload_size",
    "storage-class": "Repository.storage_class",
    "s3-endpoint": "S3Store.endpoint_url",
    "s3-bucket": "S3Store.bucket",
    "s3-download": "S3Store.download_mode",
}
repository_flags = {
    **base_flags,
    "s3": (
        {"Repository": {"storage_class": "jupyter_repo.repository.storage.s3.S3Store"}},
        "Store files in an S3-compatible bucket (see --s3-endpoint, --s3-bucket; credentials "
        "from the usual AWS variables).",
    ),
}


class RepoCommand(JupyterApp):
    """A subcommand working on a repository configured by ``jupyter_repo_config.py``."""

    version = __version__
    aliases = repository_aliases
    flags = repository_flags
    classes = [Repository, S3Store]

    @default("config_file_name")
    def _config_file_name_default(self) -> str:
        return "jupyter_repo_config"

    def make_repository(self, *, migrate: bool = True) -> Repository:
        repo = Repository(parent=self, log=self.log)
        if migrate and repo.auto_migrate:
            repo.migrate()
        return repo

    def fail(self, message: str, code: int = 1) -> NoReturn:
        """Print a one-line error (no traceback) and exit."""
        self.log.error(message)
        self.exit(code)
        raise SystemExit(code)  # not reached: exit() raises it, but is typed "-> None"
