"""``jupyter repo publish notebook|env|project``: publish to a namespace of the repository."""

from __future__ import annotations

import sys
from pathlib import Path

from traitlets import Bool, Integer, Unicode

from jupyter_repo.client import errors, notebooks
from jupyter_repo.client.environment import (
    CapturedEnvironment,
    capture_interpreter,
    capture_kernel,
    capture_prefix,
)
from jupyter_repo.client.project import (
    CREDENTIALS_REASON,
    HIDDEN_REASON,
    ProjectRules,
    Selection,
    select_files,
)
from jupyter_repo.client.publish import Destination, Publisher, describe_published
from jupyter_repo.commands.clientbase import ClientCommand, client_aliases, client_flags

publish_aliases = {
    **client_aliases,
    "owner": "PublishCommand.owner",
    "name": "PublishCommand.package_name",
    "release": "PublishCommand.version",
    "summary": "PublishCommand.summary",
    "label": "PublishCommand.label",
    "kernel": "PublishCommand.kernel",
    "prefix": "PublishCommand.prefix",
}
publish_flags = {
    **client_flags,
    "private": (
        {"PublishCommand": {"private": True}},
        "Make a new package private (only you and your groups can see it).",
    ),
}


class PublishCommand(ClientCommand):
    aliases = publish_aliases
    flags = publish_flags

    owner = Unicode("", help="Namespace to publish to (default: your user).").tag(config=True)
    package_name = Unicode("", help="Package name (default: from the file or folder name).").tag(
        config=True
    )
    version = Unicode("", help="Version (default: the next whole number).").tag(config=True)
    summary = Unicode("", help="One-line summary.").tag(config=True)
    label = Unicode("", help="Label of the uploaded files (default: main).").tag(config=True)
    private = Bool(False, help="Create the package as private.").tag(config=True)
    kernel = Unicode("", help="A kernel whose environment is captured.").tag(config=True)
    prefix = Unicode("", help="An environment folder whose packages are captured.").tag(config=True)

    def parse_command_line(self, argv: list[str] | None = None) -> None:
        """Accept ``--version V`` (traitlets keeps ``--version`` for itself): it is the
        version to publish, spelled ``--release`` internally."""
        rewritten = []
        for arg in list(argv if argv is not None else sys.argv[1:]):
            if arg == "--version":
                arg = "--release"
            elif arg.startswith("--version="):
                arg = "--release=" + arg.split("=", 1)[1]
            rewritten.append(arg)
        super().parse_command_line(rewritten)

    def destination(self, client_login: str) -> Destination:
        return Destination(
            owner=(self.owner or client_login).lower(),
            name=self.package_name or None,
            version=self.version or None,
            summary=self.summary or None,
            label=self.label or None,
            public=not self.private,
        )

    def chosen_environment(self) -> CapturedEnvironment | None:
        if self.kernel and self.prefix:
            raise errors.BadRequest("Choose either --kernel or --prefix, not both.")
        if self.kernel:
            return capture_kernel(self.kernel)
        if self.prefix:
            return capture_prefix(self.prefix)
        return None

    def publisher(self) -> tuple[Publisher, str]:
        client = self.client()
        login = client.whoami()["login"]
        return Publisher(client, log=self.say, progress=self.progress_bar()), login


class PublishNotebookApp(PublishCommand):
    name = "jupyter-repo-publish-notebook"
    description = "Publish a notebook (with its kernel's environment): notebook PATH"
    usage = (
        "publish notebook PATH [--owner NS] [--name N] [--version V] [--summary S] "
        "[--label L] [--private] [--kernel K] [--no-environment]"
    )
    flags = {
        **publish_flags,
        "no-environment": (
            {"PublishNotebookApp": {"attach_environment": False}},
            "Do not capture and attach the kernel's environment.",
        ),
    }
    attach_environment = Bool(True, help="Capture the kernel's environment and link it.").tag(
        config=True
    )

    def run(self) -> None:
        (path_text,) = self.positional(1)
        path = Path(path_text)
        notebook = notebooks.read_file(path)
        environment = None
        if self.attach_environment:
            environment = self.chosen_environment()
            if environment is None:
                kernel = ((notebook.get("metadata") or {}).get("kernelspec") or {}).get("name")
                if not kernel:
                    raise errors.BadRequest(
                        f"{path} names no kernel; pass --kernel NAME or --no-environment."
                    )
                try:
                    environment = capture_kernel(kernel)
                except errors.CaptureError as error:
                    raise errors.CaptureError(
                        f"{error.message} Pass --kernel NAME or --no-environment."
                    ) from None
        publisher, login = self.publisher()
        published, record = publisher.publish_notebook(
            notebook, path.name, self.destination(login), environment=environment
        )
        notebooks.write_file(path, notebooks.with_record(notebooks.read_file(path), record))
        for line in describe_published(published):
            self.say(line)


class PublishEnvApp(PublishCommand):
    name = "jupyter-repo-publish-env"
    description = "Publish an environment: env [--kernel NAME | --prefix PATH | FILE]"
    usage = (
        "publish env [--kernel NAME | --prefix PATH | FILE] [--owner NS] [--name N] "
        "[--version V] [--summary S] [--label L] [--private]"
    )

    def run(self) -> None:
        arguments = self.positional(0, 1)
        if arguments and (self.kernel or self.prefix):
            raise errors.BadRequest("Give a FILE, --kernel or --prefix, only one of them.")
        publisher, login = self.publisher()
        destination = self.destination(login)
        if arguments:
            published = publisher.publish_env_file(Path(arguments[0]), destination)
        else:
            environment = self.chosen_environment()
            if self.kernel:
                default = notebooks.slug(self.kernel, "environment")
            elif self.prefix:
                default = notebooks.slug(Path(self.prefix).resolve().name, "environment")
            else:
                environment = capture_interpreter(sys.executable)
                default = notebooks.slug(Path(sys.prefix).name, "environment")
            assert environment is not None
            published = publisher.publish_environment(
                environment, destination, default_name=default
            )
        for line in describe_published(published):
            self.say(line)


class PublishProjectApp(PublishCommand):
    name = "jupyter-repo-publish-project"
    description = (
        "Publish a project folder: project DIR (the files are listed first; "
        "hidden files stay out unless --include-hidden; credential files never go)"
    )
    usage = (
        "publish project DIR [--owner NS] [--name N] [--version V] [--summary S] "
        "[--label L] [--private] [--kernel K | --prefix P] [--max-file-size BYTES] "
        "[--include-hidden] [--dry-run] [--yes]"
    )
    aliases = {**publish_aliases, "max-file-size": "PublishProjectApp.max_file_size"}
    flags = {
        **publish_flags,
        "include-hidden": (
            {"PublishProjectApp": {"include_hidden": True}},
            "Also publish hidden files and folders (names starting with '.'); "
            "credential files (.npmrc, .kube/config, ...) never go.",
        ),
        "dry-run": (
            {"PublishProjectApp": {"dry_run": True}},
            "List the files that would be published, and stop.",
        ),
        "yes": (
            {"PublishProjectApp": {"yes": True}},
            "Publish without asking (needed when the input is not a terminal).",
        ),
        "y": ({"PublishProjectApp": {"yes": True}}, "Same as --yes."),
    }
    max_file_size = Integer(
        ProjectRules.max_file_size, help="Files larger than this many bytes are left out."
    ).tag(config=True)
    include_hidden = Bool(False, help="Publish hidden files and folders too.").tag(config=True)
    dry_run = Bool(False, help="Only list the files that would be published.").tag(config=True)
    yes = Bool(False, help="Do not ask before publishing.").tag(config=True)

    #: Files listed before asking; --dry-run lists them all.
    shown_files = 20

    def run(self) -> None:
        (folder,) = self.positional(1)
        root = Path(folder)
        if not root.is_dir():
            raise errors.BadRequest(f"{folder} is not a folder.")
        rules = ProjectRules(
            max_file_size=self.max_file_size,
            include_hidden=self.include_hidden,
            protected=(str(self.store().directory),),
        )
        selection = select_files(root, rules)
        self.show(selection, every_file=self.dry_run)
        if self.dry_run:
            return
        selection.require_files()
        environment = self.chosen_environment()
        publisher, login = self.publisher()
        destination = self.destination(login)
        name = destination.name or notebooks.slug(root.resolve().name, "project")
        visibility = "public" if destination.public else "private"
        self.confirm(
            f"Publish {len(selection.files)} files ({size(selection.total_size)}) "
            f"as {destination.owner}/{name} ({visibility}) to "
            f"{publisher.client.url}?"
        )
        published = publisher.publish_project(
            root, destination, rules=rules, environment=environment, selection=selection
        )
        for line in describe_published(published):
            self.say(line)

    def show(self, selection: Selection, *, every_file: bool) -> None:
        """The preview: count, size, the files (or the first and the largest) and what is
        left out, credential files by name."""
        count = len(selection.files)
        self.say(f"{count} files, {size(selection.total_size)} from {selection.root.resolve()}:")
        listed = selection.files if every_file else selection.files[: self.shown_files]
        for path, length in listed:
            self.say(f"  {path}  ({size(length)})")
        if len(listed) < count:
            self.say(
                f"  ... and {count - len(listed)} more (--dry-run lists them all); the largest:"
            )
            for path, length in sorted(selection.files, key=lambda item: -item[1])[:5]:
                self.say(f"  {path}  ({size(length)})")
        credentials = [path for path, why in selection.excluded if why == CREDENTIALS_REASON]
        if credentials:
            self.say(f"Never published (credentials): {', '.join(credentials)}")
        hidden = [path for path, why in selection.excluded if why == HIDDEN_REASON]
        if hidden:
            self.say(
                f"Left out as hidden ({len(hidden)}; --include-hidden publishes them): "
                f"{', '.join(hidden[:10])}{' ...' if len(hidden) > 10 else ''}"
            )
        others = [
            (path, why)
            for path, why in selection.excluded
            if why not in (CREDENTIALS_REASON, HIDDEN_REASON)
        ]
        if every_file:
            for path, why in others:
                self.say(f"  left out {path}: {why}")
        elif others:
            self.say(
                f"Left out {len(others)} more (caches, .gitignore, links, size); "
                "--dry-run says which."
            )

    def confirm(self, question: str) -> None:
        """Ask on a terminal; without one, only ``--yes`` publishes (nothing waits on an
        input that never comes, and nothing is published unasked)."""
        if self.yes:
            return
        if not sys.stdin or not sys.stdin.isatty():
            raise errors.BadRequest(
                "Not publishing without a confirmation: the input is not a terminal. Check "
                "the list above and pass --yes to publish it (or --dry-run to list every file)."
            )
        answer = input(f"{question} [y/N] ").strip().lower()
        if answer not in ("y", "yes"):
            raise errors.Cancelled("Not published.")


def size(count: int) -> str:
    """``1.5 MB``-style sizes for people (decimal units, as the Lab dialog shows them)."""
    if count < 1000:
        return f"{count} bytes"
    value = count / 1000
    for unit in ("kB", "MB"):
        if value < 1000:
            return f"{value:.1f} {unit}"
        value /= 1000
    return f"{value:.1f} GB"


class PublishApp(ClientCommand):
    name = "jupyter-repo-publish"
    description = "Publish a notebook, an environment or a project folder."
    subcommands = {
        "notebook": (PublishNotebookApp, PublishNotebookApp.description),
        "env": (PublishEnvApp, PublishEnvApp.description),
        "project": (PublishProjectApp, PublishProjectApp.description),
    }

    def start(self) -> None:
        if self.subapp is None:
            self.fail("usage: jupyter repo publish notebook PATH | env [...] | project DIR")
        self.subapp.start()
