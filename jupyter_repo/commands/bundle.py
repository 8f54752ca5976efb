"""``jupyter repo export`` / ``jupyter repo import``: move a namespace across an air gap.

Both act on the repository's database and store directly (like ``admin`` and ``mirror``),
as the site's operator, on the server machine: export on the connected side, carry the
one bundle file over, import on the air-gapped side. See ``mirroring/bundle.py``.

The import goes into the bundle's own namespace (or ``--namespace``). When it is missing
there, a user namespace is created without a password (``admin set-password`` gives it
one); an organization is created only when ``--org-owner USER`` names its owner. Packages
the import creates keep the bundle's visibility; an existing package is made private when
the bundle says private and is never made public by an import. Labels are only added.
"""

from __future__ import annotations

import json
from datetime import datetime, timezone
from pathlib import Path

from traitlets import Bool, Int, Unicode

from jupyter_repo.commands.base import RepoCommand, repository_aliases
from jupyter_repo.commands.mirror import BarProgress
from jupyter_repo.repository import errors
from jupyter_repo.repository.services.mirrors import OPERATOR

MB = 1 << 20


def parse_since(value: str) -> datetime:
    """An ISO date or time; without a time zone it is UTC."""
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        raise errors.InvalidInput(
            f"--since must be an ISO date or time (2026-01-31, 2026-01-31T12:00), not {value!r}."
        ) from None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=timezone.utc)


def split_source(value: str) -> tuple[str, str | None]:
    """``NAMESPACE`` or ``NAMESPACE/label/LABEL``."""
    parts = value.strip("/").split("/")
    if len(parts) == 1 and parts[0]:
        return parts[0], None
    if len(parts) == 3 and parts[1] == "label" and parts[0] and parts[2]:
        return parts[0], parts[2]
    raise errors.InvalidInput(f"Name NAMESPACE or NAMESPACE/label/LABEL, not {value!r}.")


class ExportApp(RepoCommand):
    name = "jupyter-repo-export"
    description = (
        "Write a namespace (or one label of it) to one bundle file for an air-gapped site: "
        "jupyter repo export NAMESPACE[/label/LABEL] [--since DATE] -o BUNDLE"
    )
    aliases = {
        **repository_aliases,
        "o": "ExportApp.output",
        "output": "ExportApp.output",
        "since": "ExportApp.since",
    }
    flags = {
        **RepoCommand.flags,
        "json": ({"ExportApp": {"as_json": True}}, "Print the result as JSON."),
    }
    output = Unicode("", help="The bundle file to write (must not exist).").tag(config=True)
    since = Unicode("", help="Only files uploaded at or after this ISO date/time.").tag(config=True)
    as_json = Bool(False).tag(config=True)

    def start(self) -> None:
        from jupyter_repo.mirroring.bundle import export_bundle

        if len(self.extra_args) != 1 or not self.output:
            self.fail("usage: jupyter repo export NAMESPACE[/label/LABEL] [--since DATE] -o FILE")
        repo = self.make_repository()
        progress = BarProgress(enabled=not self.as_json)
        try:
            owner, label = split_source(self.extra_args[0])
            since = parse_since(self.since) if self.since else None
            result = export_bundle(
                repo,
                OPERATOR,
                owner,
                Path(self.output),
                label=label,
                since=since,
                progress=progress,
            )
        except errors.RepositoryError as error:
            progress.close()
            self.fail(error.message)
        finally:
            repo.close()
        progress.close()
        rate = result.bytes / MB / max(result.seconds, 1e-6)
        summary = {
            "bundle": str(result.path),
            "files": result.files,
            "members": result.members,
            "bytes": result.bytes,
            "seconds": round(result.seconds, 3),
            "mb_per_s": round(rate, 1),
        }
        if self.as_json:
            print(json.dumps(summary, indent=2))
            return
        print(
            f"Exported {result.files} files ({result.bytes} bytes) to {result.path} "
            f"in {result.seconds:.1f} s ({rate:.1f} MB/s)."
        )


class ImportApp(RepoCommand):
    name = "jupyter-repo-import"
    description = (
        "Verify and import a bundle written by 'jupyter repo export': "
        "jupyter repo import BUNDLE [--namespace NAME] [--org-owner USER]"
    )
    aliases = {
        **repository_aliases,
        "namespace": "ImportApp.namespace",
        "org-owner": "ImportApp.org_owner",
        "inspect-processes": "ImportApp.inspect_processes",
    }
    flags = {
        **RepoCommand.flags,
        "json": ({"ImportApp": {"as_json": True}}, "Print the result as JSON."),
    }
    namespace = Unicode(
        "", help="Import into this namespace (default: the bundle's own namespace)."
    ).tag(config=True)
    org_owner = Unicode(
        "",
        help="When the bundle's organization does not exist here, create it owned by this user.",
    ).tag(config=True)
    max_manifest_bytes = Int(
        64 << 20, help="Refuse a bundle whose manifest is larger (bytes): a bound on memory."
    ).tag(config=True)
    max_files = Int(100_000, help="Refuse a bundle that lists more files than this.").tag(
        config=True
    )
    inspect_processes = Int(
        -1,
        help="Processes that inspect the bundle's files beside the import (0: none, inspect "
        "in the import's own process; -1: one per core, up to 4, when 200 or more files "
        "are new).",
    ).tag(config=True)
    as_json = Bool(False).tag(config=True)

    def start(self) -> None:
        from jupyter_repo.mirroring.bundle import import_bundle
        from jupyter_repo.repository.services.bundles import ImportTarget

        if len(self.extra_args) != 1:
            self.fail("usage: jupyter repo import BUNDLE [--namespace NAME] [--org-owner USER]")
        repo = self.make_repository()
        progress = BarProgress(enabled=not self.as_json)
        try:
            result = import_bundle(
                repo,
                Path(self.extra_args[0]),
                ImportTarget(self.namespace or None, self.org_owner or None),
                max_manifest_bytes=self.max_manifest_bytes,
                max_files=self.max_files,
                inspect_processes=None if self.inspect_processes < 0 else self.inspect_processes,
                progress=progress,
            )
        except errors.RepositoryError as error:
            progress.close()
            self.fail(error.message)
        finally:
            repo.close()
        progress.close()
        summary = result.as_dict()
        summary["mb_per_s"] = round(result.bytes_verified / MB / max(result.seconds, 1e-6), 1)
        if self.as_json:
            print(json.dumps(summary, indent=2))
            return
        report = result.report
        print(
            f"Imported into {report.namespace}: {report.created_files} new files, "
            f"{report.skipped_files} already here, {report.created_packages} new packages, "
            f"{report.labels_added} labels added; {result.members} files verified "
            f"({result.bytes_verified} bytes, {summary['mb_per_s']} MB/s)."
        )
