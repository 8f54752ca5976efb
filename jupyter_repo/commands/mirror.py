"""``jupyter repo mirror add|list|sync|remove``: upstream channels and indexes, on the server.

These commands act on the repository's database and store directly (like ``admin``), as
the site's operator, from the server machine or a cron job; ``serve`` also runs scheduled
syncs itself (``--every``).
"""

from __future__ import annotations

import json
import sys
from typing import Any

from traitlets import Bool, Int, List, Unicode

from jupyter_repo.commands.base import RepoCommand, repository_aliases
from jupyter_repo.repository import errors
from jupyter_repo.repository.models import MirrorMode
from jupyter_repo.repository.services import mirrors
from jupyter_repo.repository.services.mirrors import MirrorConfig, MirrorSpec


class _MirrorCommand(RepoCommand):
    usage = ""

    def positional(self, low: int, high: int | None = None) -> list[str]:
        high = low if high is None else high
        if not low <= len(self.extra_args) <= high:
            self.fail(f"usage: jupyter repo mirror {self.usage}")
        return list(self.extra_args)


class MirrorAddApp(_MirrorCommand):
    name = "jupyter-repo-mirror-add"
    description = (
        "Mirror (or, with --proxy, proxy) an upstream conda channel or PyPI index into a "
        "namespace: jupyter repo mirror add OWNER NAME --kind conda|pypi --upstream URL ..."
    )
    usage = (
        "add OWNER NAME --kind conda|pypi --upstream URL [--label L] [--subdir S ...] "
        "[--include SPEC ...] [--exclude SPEC ...] [--license-allow L ...] "
        "[--license-deny L ...] [--newer-than DATE] [--older-than DATE] [--latest N] "
        "[--with-deps --python-version V ... --platform P ...] [--every SECONDS] "
        "[--prune] [--private] [--proxy [--index-ttl SECONDS]]"
    )
    aliases = {
        **repository_aliases,
        "kind": "MirrorAddApp.kind",
        "upstream": "MirrorAddApp.upstream",
        "label": "MirrorAddApp.label",
        "subdir": "MirrorAddApp.subdirs",
        "include": "MirrorAddApp.include",
        "exclude": "MirrorAddApp.exclude",
        "license-allow": "MirrorAddApp.licenses_allow",
        "license-deny": "MirrorAddApp.licenses_deny",
        "newer-than": "MirrorAddApp.newer_than",
        "older-than": "MirrorAddApp.older_than",
        "latest": "MirrorAddApp.latest",
        "python-version": "MirrorAddApp.python_versions",
        "platform": "MirrorAddApp.platforms",
        "every": "MirrorAddApp.every",
        "index-ttl": "MirrorAddApp.index_ttl",
    }
    flags = {
        **RepoCommand.flags,
        "proxy": (
            {"MirrorAddApp": {"proxy": True}},
            "A pull-through proxy: index requests go to the upstream (cached), a file is "
            "fetched on its first request.",
        ),
        "prune": (
            {"MirrorAddApp": {"prune": True}},
            "Remove files the upstream removed (default: keep them).",
        ),
        "private": (
            {"MirrorAddApp": {"private": True}},
            "Packages the mirror creates are private to the namespace.",
        ),
        "with-deps": (
            {"MirrorAddApp": {"with_deps": True}},
            "PyPI: also mirror the dependencies of the included requirements.",
        ),
    }
    kind = Unicode("", help="conda or pypi.").tag(config=True)
    upstream = Unicode("", help="The upstream channel or index URL.").tag(config=True)
    label = Unicode("main", help="The label mirrored files get.").tag(config=True)
    subdirs = List(Unicode(), help="Conda subdirs to mirror.").tag(config=True)
    include = List(Unicode(), help="Names or specs to include (default: all).").tag(config=True)
    exclude = List(Unicode(), help="Names or specs to leave out.").tag(config=True)
    licenses_allow = List(Unicode(), help="Only these licences.").tag(config=True)
    licenses_deny = List(Unicode(), help="Never these licences.").tag(config=True)
    newer_than = Unicode("", help="Only files built after this date.").tag(config=True)
    older_than = Unicode("", help="Only files built before this date.").tag(config=True)
    latest = Int(0, help="Keep the newest N versions of each package (0: all).").tag(config=True)
    python_versions = List(Unicode(), help="PyPI closure: Python versions.").tag(config=True)
    platforms = List(Unicode(), help="PyPI closure: platforms.").tag(config=True)
    every = Int(0, help="Sync every this many seconds inside the server.").tag(config=True)
    index_ttl = Int(300, help="Proxy: seconds an index answer is reused.").tag(config=True)
    proxy = Bool(False).tag(config=True)
    prune = Bool(False).tag(config=True)
    private = Bool(False).tag(config=True)
    with_deps = Bool(False).tag(config=True)

    def start(self) -> None:
        owner, name = self.positional(2)
        if not self.kind or not self.upstream:
            self.fail("Give --kind conda|pypi and --upstream URL.")
        repo = self.make_repository()
        try:
            spec = MirrorSpec(
                owner=owner,
                name=name,
                kind=self.kind,
                upstream_url=self.upstream,
                mode=MirrorMode.PROXY if self.proxy else MirrorMode.MIRROR,
                label=self.label,
                schedule_seconds=self.every or None,
                config=MirrorConfig(
                    subdirs=tuple(self.subdirs),
                    include=tuple(self.include),
                    exclude=tuple(self.exclude),
                    licenses_allow=tuple(self.licenses_allow),
                    licenses_deny=tuple(self.licenses_deny),
                    newer_than=self.newer_than or None,
                    older_than=self.older_than or None,
                    latest=self.latest or None,
                    keep_removed=not self.prune,
                    public=not self.private,
                    with_dependencies=self.with_deps,
                    python_versions=tuple(self.python_versions),
                    platforms=tuple(self.platforms),
                    index_ttl_seconds=self.index_ttl,
                ),
            )
            described = repo.write(
                lambda s: mirrors.describe(mirrors.add_mirror(s, mirrors.OPERATOR, spec))
            )
        except errors.RepositoryError as error:
            self.fail(error.message)
        finally:
            repo.close()
        what = "Proxy" if self.proxy else "Mirror"
        print(f"{what} {owner}/{name} of {described['upstream']} added.")


class MirrorListApp(_MirrorCommand):
    name = "jupyter-repo-mirror-list"
    description = "List mirrors: jupyter repo mirror list [OWNER] [--json]"
    usage = "list [OWNER] [--json]"
    flags = {
        **RepoCommand.flags,
        "json": ({"MirrorListApp": {"as_json": True}}, "Print JSON."),
    }
    as_json = Bool(False).tag(config=True)

    def start(self) -> None:
        args = self.positional(0, 1)
        owner = args[0] if args else None
        repo = self.make_repository()
        try:
            rows = repo.read(
                lambda s: [
                    mirrors.describe(m) for m in mirrors.list_mirrors(s, mirrors.OPERATOR, owner)
                ]
            )
        except errors.RepositoryError as error:
            self.fail(error.message)
        finally:
            repo.close()
        if self.as_json:
            print(json.dumps(rows, indent=2))
            return
        if not rows:
            print("No mirrors.")
        for row in rows:
            last = row["last_sync_at"] or "never synced"
            status = f"failed: {row['last_error']}" if row["last_error"] else last
            print(
                f"{row['owner']}/{row['name']}  {row['mode']} {row['kind']}  "
                f"{row['upstream']} -> label {row['label']}  ({status})"
            )


class MirrorSyncApp(_MirrorCommand):
    name = "jupyter-repo-mirror-sync"
    description = (
        "Sync a mirror now: jupyter repo mirror sync OWNER NAME [--dry-run] [--json] "
        "[--parallel N] [--force]"
    )
    usage = "sync OWNER NAME [--dry-run] [--json] [--parallel N] [--force]"
    aliases = {**repository_aliases, "parallel": "MirrorSyncApp.parallel"}
    flags = {
        **RepoCommand.flags,
        "dry-run": (
            {"MirrorSyncApp": {"dry_run": True}},
            "Say what would be fetched and removed; change nothing.",
        ),
        "json": ({"MirrorSyncApp": {"as_json": True}}, "Print the report as JSON."),
        "force": (
            {"MirrorSyncApp": {"force": True}},
            "Take over the claim of a sync that crashed (only when none is running).",
        ),
    }
    dry_run = Bool(False).tag(config=True)
    as_json = Bool(False).tag(config=True)
    force = Bool(False).tag(config=True)
    parallel = Int(4, help="Files fetched at once.").tag(config=True)

    def start(self) -> None:
        from jupyter_repo.mirroring.sync import run_sync
        from jupyter_repo.mirroring.upstream import UpstreamError

        owner, name = self.positional(2)
        repo = self.make_repository()
        progress = BarProgress(enabled=not self.as_json)
        try:
            report = run_sync(
                repo,
                owner,
                name,
                dry_run=self.dry_run,
                progress=progress,
                parallel=max(1, self.parallel),
                force=self.force,
            )
        except (errors.RepositoryError, UpstreamError) as error:
            progress.close()
            self.fail(getattr(error, "message", str(error)))
        finally:
            repo.close()
        progress.close()
        summary = report.as_dict()
        if self.as_json:
            summary["files"] = report.fetched
            summary["removed_files"] = report.removed
            print(json.dumps(summary, indent=2))
            if report.failed:
                self.exit(1)
            return
        verb = "Would fetch" if report.dry_run else "Fetched"
        if report.dry_run:
            for basename in sorted(report.fetched):
                print(f"fetch  {basename}")
            for basename in sorted(report.removed):
                print(f"remove {basename}")
        print(
            f"{verb} {summary['fetched']} files ({summary['fetched_bytes']} bytes); "
            f"{summary['skipped']} already here, {summary['filtered_out']} filtered out, "
            f"{summary['removed']} removed; {summary['requests']} requests, "
            f"{summary['bytes_received']} bytes received in {summary['seconds']} s."
        )
        if report.failed:
            print(f"{len(report.failed)} failed:", *report.failed, sep="\n  ", file=sys.stderr)
            self.exit(1)


class MirrorRemoveApp(_MirrorCommand):
    name = "jupyter-repo-mirror-remove"
    description = "Forget a mirror (its files stay): jupyter repo mirror remove OWNER NAME"
    usage = "remove OWNER NAME"

    def start(self) -> None:
        owner, name = self.positional(2)
        repo = self.make_repository()
        try:
            repo.write(lambda s: mirrors.remove_mirror(s, mirrors.OPERATOR, owner, name))
        except errors.RepositoryError as error:
            self.fail(error.message)
        finally:
            repo.close()
        print(f"Mirror {owner}/{name} removed; the files it copied stay.")


class BarProgress:
    """A sync's progress as one tqdm bar of bytes (on stderr; none when disabled)."""

    def __init__(self, *, enabled: bool) -> None:
        self.enabled = enabled
        self.bar: Any = None

    def planned(self, files: int, total_bytes: int) -> None:
        if self.enabled and files:
            from tqdm import tqdm

            self.bar = tqdm(
                total=total_bytes, unit="B", unit_scale=True, desc=f"{files} files", leave=True
            )

    def advanced(self, received: int) -> None:
        if self.bar is not None:
            self.bar.update(received)

    def file_done(self, name: str) -> None:
        if self.bar is not None:
            self.bar.set_postfix_str(name[-40:], refresh=False)

    def note(self, message: str) -> None:
        if self.enabled:
            print(message, file=sys.stderr)

    def close(self) -> None:
        if self.bar is not None:
            self.bar.close()
            self.bar = None


class MirrorApp(RepoCommand):
    name = "jupyter-repo-mirror"
    description = "Mirrors and proxies of upstream conda channels and PyPI indexes."
    subcommands = {
        "add": (MirrorAddApp, MirrorAddApp.description),
        "list": (MirrorListApp, MirrorListApp.description),
        "sync": (MirrorSyncApp, MirrorSyncApp.description),
        "remove": (MirrorRemoveApp, MirrorRemoveApp.description),
    }

    def start(self) -> None:
        if self.subapp is None:
            print("Usage: jupyter repo mirror add|list|sync|remove ...")
            self.exit(1)
        super().start()
