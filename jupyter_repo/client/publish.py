"""Publishing notebooks, environments and projects: the steps shared by the CLI and the
Jupyter extension (both call these from a worker thread; everything here blocks).

Versions are whole numbers counted by the repository ("1", "2", ...) unless one is given;
a version that exists is refused by the repository (409), so published versions never
change. A notebook's environment is published as the package ``<name>-env`` at the same
version and linked from the notebook's ``jupyter_repo`` metadata.
"""

from __future__ import annotations

import tempfile
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from urllib.parse import quote

from jupyter_repo.client import errors, notebooks
from jupyter_repo.client.api import JSON, RepoClient
from jupyter_repo.client.environment import CapturedEnvironment
from jupyter_repo.client.project import ProjectRules, Selection, pack, select_files
from jupyter_repo.repository import names
from jupyter_repo.repository.errors import InvalidInput

#: ``progress(basename, bytes_done, bytes_total)`` for each file sent.
FileProgress = Callable[[str, int, int], None]
Log = Callable[[str], None]


@dataclass(frozen=True)
class Destination:
    """Where to publish: namespace, package, version and how it is shown."""

    owner: str
    name: str | None = None
    version: str | None = None
    summary: str | None = None
    label: str | None = None
    public: bool = True
    #: Whether ``public`` is also applied to a package that exists (the Lab dialog shows
    #: the package's visibility and sends what the user chose); otherwise it is only
    #: how a new package is created (``jupyter repo publish --private``).
    apply_visibility: bool = False


@dataclass
class Published:
    owner: str
    name: str
    version: str
    html_url: str
    files: list[JSON] = field(default_factory=list)
    environment: Published | None = None
    excluded: list[JSON] = field(default_factory=list)
    #: Who may read the package now, and the label the version got.
    public: bool = True
    label: str | None = None

    def link(self) -> dict[str, str]:
        return {
            "owner": self.owner,
            "name": self.name,
            "version": self.version,
            "url": self.html_url,
        }

    def to_json(self) -> JSON:
        data: JSON = {
            **self.link(),
            "html_url": self.html_url,
            "files": self.files,
            "public": self.public,
            "label": self.label,
            # What the repository says the files got (the asked label, or its default).
            "labels": sorted({name for item in self.files for name in item.get("labels") or []}),
        }
        if self.environment is not None:
            data["environment"] = self.environment.to_json()
        if self.excluded:
            data["excluded"] = self.excluded
        return data


def _file_summary(uploaded: JSON) -> JSON:
    return {
        key: uploaded.get(key)
        for key in ("basename", "type", "size", "sha256", "download_url", "labels")
    }


def check_names(owner: str, name: str, version: str | None) -> None:
    """Refuse bad names before anything is captured or packed."""
    try:
        names.login(owner)
        names.package(name)
        if version is not None:
            names.version(version)
    except InvalidInput as error:
        raise errors.BadRequest(error.message) from None


class Publisher:
    def __init__(
        self, client: RepoClient, *, log: Log | None = None, progress: FileProgress | None = None
    ) -> None:
        self.client = client
        self.log = log or (lambda _line: None)
        self.progress = progress or (lambda _name, _done, _total: None)

    def html_url(self, owner: str, name: str) -> str:
        return f"{self.client.url}/{quote(owner)}/{quote(name)}"

    def _version(self, owner: str, names_: list[str], version: str | None) -> str:
        """The given version or the next free whole number of all the packages named.

        When several packages are published together (a notebook and its environment), a
        taken version is refused before the first upload, so that none is left half done;
        otherwise the repository itself refuses it (409).
        """
        if version:
            for name in names_ if len(names_) > 1 else ():
                package = self.client.find_package(owner, name)
                if package and version in package.get("versions", []):
                    raise errors.Conflict(
                        f"{owner}/{name} version {version} already exists; published versions "
                        "cannot be changed, choose another version."
                    )
            return version
        return str(max(int(self.client.next_version(owner, name)) for name in names_))

    def _visibility(self, destination: Destination, names_: list[str]) -> dict[str, bool]:
        """Who will see each package after the publish; an explicit choice
        (``apply_visibility``) is applied to existing packages before any file goes up.

        An upload only sets the visibility of a package it creates; without this a
        republish marked public stayed private (or the reverse) without a word. Changing
        it needs admin on the package: when the repository refuses, nothing is uploaded
        and the message says why.
        """
        owner, public = destination.owner, destination.public
        visible: dict[str, bool] = {}
        for name in names_:
            package = self.client.find_package(owner, name)
            current = public if package is None else bool(package.get("public", True))
            visible[name] = current
            if not destination.apply_visibility or current == public:
                continue
            wanted, now = ("public", "private") if public else ("private", "public")
            try:
                self.client.set_visibility(owner, name, public)
            except errors.Forbidden as refused:
                raise errors.Forbidden(
                    f"{owner}/{name} is {now}; making it {wanted} needs admin rights on "
                    f"the package, and the repository refused: {refused.message} Nothing was "
                    f"published. Publish it as {now}, or change who sees it on its page "
                    f"({self.html_url(owner, name)}) as an administrator."
                ) from None
            visible[name] = public
            self.log(f"{owner}/{name} is now {wanted}")
        return visible

    def _upload(
        self,
        destination: Destination,
        name: str,
        version: str,
        files: list[tuple[str, Path]],
        package_type: str,
    ) -> list[JSON]:
        uploaded = []
        for basename, path in files:
            self.log(f"uploading {basename} to {destination.owner}/{name} {version}")
            result = self.client.upload(
                destination.owner,
                name,
                version,
                path,
                basename=basename,
                package_type=package_type,
                labels=[destination.label] if destination.label else [],
                summary=destination.summary,
                public=destination.public,
                progress=partial(self.progress, basename),
            )
            uploaded.append(_file_summary(result))
        return uploaded

    # -- environments ----------------------------------------------------------------------

    def publish_spec_files(
        self, specs: dict[str, str], destination: Destination, *, default_name: str
    ) -> Published:
        """Upload environment spec files (``environment.yml`` first) as one release."""
        name = destination.name or default_name
        check_names(destination.owner, name, destination.version)
        version = self._version(destination.owner, [name], destination.version)
        visible = self._visibility(destination, [name])
        with tempfile.TemporaryDirectory(prefix="jupyter-repo-env-") as work:
            files = []
            for basename, text in specs.items():
                path = Path(work) / basename
                path.write_text(text, encoding="utf-8")
                files.append((basename, path))
            uploaded = self._upload(destination, name, version, files, "env")
        return Published(
            destination.owner,
            name,
            version,
            self.html_url(destination.owner, name),
            uploaded,
            public=visible[name],
            label=destination.label,
        )

    def publish_environment(
        self, environment: CapturedEnvironment, destination: Destination, *, default_name: str
    ) -> Published:
        name = destination.name or default_name
        count = len(environment.requirement_lines()) + len(environment.conda or [])
        self.log(f"captured {count} packages from {environment.executable or environment.prefix}")
        return self.publish_spec_files(
            environment.files(name), destination, default_name=default_name
        )

    def publish_env_file(self, path: Path, destination: Destination) -> Published:
        """Publish an existing ``environment.yml`` / ``requirements.txt`` / explicit lock."""
        from jupyter_repo.repository.inspect.envspec import parse_spec

        try:
            text = path.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as error:
            raise errors.BadRequest(f"Cannot read {path}: {error}") from None
        try:
            spec = parse_spec(text, path.name)
        except InvalidInput as error:
            raise errors.BadRequest(error.message) from None
        default = notebooks.slug(
            spec.get("name") or path.parent.name or "environment", "environment"
        )
        return self.publish_spec_files({path.name: text}, destination, default_name=default)

    # -- notebooks -------------------------------------------------------------------------

    def notebook_name(self, notebook: JSON, filename: str, destination: Destination) -> str:
        if destination.name:
            return destination.name
        record = notebooks.previous_record(notebook)
        if (
            record
            and record.get("owner") == destination.owner
            and record.get("repository", self.client.url) == self.client.url
        ):
            return str(record["name"])
        return notebooks.slug(Path(filename).stem)

    def publish_notebook(
        self,
        notebook: JSON,
        filename: str,
        destination: Destination,
        *,
        environment: CapturedEnvironment | None = None,
    ) -> tuple[Published, JSON]:
        """Publish ``notebook`` (and its environment); returns the result and the record
        to store in the notebook's metadata."""
        name = self.notebook_name(notebook, filename, destination)
        env_name = notebooks.environment_name(name)
        check_names(destination.owner, name, destination.version)
        wanted = [name, env_name] if environment is not None else [name]
        version = self._version(destination.owner, wanted, destination.version)
        visible = self._visibility(destination, wanted)
        env_published = None
        if environment is not None:
            env_published = self.publish_environment(
                environment,
                Destination(
                    destination.owner,
                    env_name,
                    version,
                    f"Environment of the notebook {destination.owner}/{name}",
                    destination.label,
                    destination.public,
                    destination.apply_visibility,
                ),
                default_name=env_name,
            )
        record = notebooks.make_record(
            destination.owner,
            name,
            version,
            self.html_url(destination.owner, name),
            self.client.url,
            env_published.link() if env_published else None,
        )
        stamped = notebooks.with_record(notebook, record)
        with tempfile.TemporaryDirectory(prefix="jupyter-repo-nb-") as work:
            path = Path(work) / f"{name}.ipynb"
            path.write_text(notebooks.dumps(stamped), encoding="utf-8")
            uploaded = self._upload(destination, name, version, [(path.name, path)], "ipynb")
        published = Published(
            destination.owner,
            name,
            version,
            self.html_url(destination.owner, name),
            uploaded,
            env_published,
            public=visible[name],
            label=destination.label,
        )
        return published, record

    # -- projects --------------------------------------------------------------------------

    def publish_project(
        self,
        root: Path,
        destination: Destination,
        *,
        rules: ProjectRules = ProjectRules(),
        environment: CapturedEnvironment | None = None,
        pack_progress: Callable[[int, int], None] | None = None,
        selection: Selection | None = None,
    ) -> Published:
        """Pack ``root`` (with the exclusion rules) and upload it as a project."""
        name = destination.name or notebooks.slug(root.resolve().name, "project")
        check_names(destination.owner, name, destination.version)
        selection = selection or select_files(root, rules)
        for relative, why in selection.excluded:
            self.log(f"left out {relative}: {why}")
        selection.require_files()
        extra: dict[str, bytes] = {}
        if selection.spec_file() is None:
            if environment is None:
                raise errors.BadRequest(
                    f"{root} has no environment spec (environment.yml or requirements.txt); "
                    "add one, or choose a kernel whose environment is recorded."
                )
            extra["environment.yml"] = environment.environment_yml(name).encode()
            self.log("added environment.yml, captured from the kernel")
        version = self._version(destination.owner, [name], destination.version)
        visible = self._visibility(destination, [name])
        with tempfile.TemporaryDirectory(prefix="jupyter-repo-project-") as work:
            archive = Path(work) / f"{name}.tar.gz"
            self.log(f"packing {len(selection.files)} files ({selection.total_size} bytes)")
            pack(selection, archive, name, extra_files=extra, progress=pack_progress)
            uploaded = self._upload(
                destination, name, version, [(archive.name, archive)], "project"
            )
        excluded = [{"path": path, "reason": why} for path, why in selection.excluded]
        return Published(
            destination.owner,
            name,
            version,
            self.html_url(destination.owner, name),
            uploaded,
            excluded=excluded,
            public=visible[name],
            label=destination.label,
        )


def describe_published(published: Published) -> list[str]:
    """Lines a CLI prints after a publish."""
    lines = [
        f"published {published.owner}/{published.name} {published.version}: {published.html_url}"
    ]
    if published.environment is not None:
        env = published.environment
        lines.append(f"  with environment {env.owner}/{env.name} {env.version}")
    return lines
