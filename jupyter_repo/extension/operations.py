"""What the extension's endpoints do: contents and kernels on the event loop, network,
disk and subprocess work on worker threads (through ``RepoExtension.blocking``)."""

from __future__ import annotations

import io
import json
import os
import posixpath
from pathlib import Path
from typing import TYPE_CHECKING, Any

import nbformat
from jupyter_core.utils import ensure_async

from jupyter_repo.client import errors, notebooks
from jupyter_repo.client.api import JSON, RepoClient
from jupyter_repo.client.environment import (
    CapturedEnvironment,
    capture_interpreter,
    kernel_interpreter,
)
from jupyter_repo.client.install import Installer, InstallSpec, Target
from jupyter_repo.client.opening import Opener, safe_relative
from jupyter_repo.client.project import select_files
from jupyter_repo.client.publish import Publisher
from jupyter_repo.client.refs import Ref
from jupyter_repo.client.states import JobState
from jupyter_repo.extension.bodies import (
    CreateEnvironmentBody,
    EnvironmentBody,
    InstallBody,
    InstallEnvironmentBody,
    NotebookBody,
    OpenBody,
    ProjectBody,
    ProjectPreviewBody,
)
from jupyter_repo.extension.tasks import Task

if TYPE_CHECKING:
    from jupyter_repo.extension.app import RepoExtension


# -- kernels ---------------------------------------------------------------------------------


async def _kernel_spec(ext: RepoExtension, kernel_name: str) -> Any:
    from jupyter_client.kernelspec import NoSuchKernel

    try:
        specs = ext.server.kernel_spec_manager
        if specs is None:
            raise errors.CaptureError("This Jupyter server has no kernel specs.")
        return await ext.blocking(specs.get_kernel_spec, kernel_name)
    except NoSuchKernel:
        raise errors.CaptureError(f"No kernel named {kernel_name!r} is installed.") from None


async def _capture(
    ext: RepoExtension, task: Task, kernel_name: str, spec: Any | None = None
) -> CapturedEnvironment:
    spec = spec if spec is not None else await _kernel_spec(ext, kernel_name)
    interpreter = kernel_interpreter(kernel_name, spec)
    task.log(f"capturing the environment of kernel {kernel_name} ({interpreter.python})")
    environment = await ext.blocking(capture_interpreter, interpreter.python, interpreter.env)
    task.check_cancelled()
    return environment


async def _notebook_kernel(ext: RepoExtension, path: str, notebook: JSON) -> str | None:
    """The kernel of the notebook's running session, else the one its metadata names."""
    for session in await ensure_async(ext.server.session_manager.list_sessions()):
        kernel = session.get("kernel") or {}
        if session.get("path") == path and kernel.get("name"):
            return str(kernel["name"])
    name = ((notebook.get("metadata") or {}).get("kernelspec") or {}).get("name")
    return str(name) if name else None


async def _target(ext: RepoExtension, kernel_name: str | None) -> Target:
    name = kernel_name or ext.server.kernel_manager.default_kernel_name
    interpreter = kernel_interpreter(name, await _kernel_spec(ext, name))
    return await ext.blocking(Target.of_interpreter, interpreter.python, interpreter.env)


def _local_folder(ext: RepoExtension, path: str) -> Path:
    """The folder on disk behind a contents path (projects are packed from the disk)."""
    contents = ext.server.contents_manager
    os_path = getattr(contents, "_get_os_path", None)
    if os_path is None:
        raise errors.BadRequest("Publishing a project needs a contents manager with files on disk.")
    return Path(os_path(path))


def _publisher(ext: RepoExtension, task: Task) -> tuple[Publisher, RepoClient]:
    client = ext.connection.client()
    return Publisher(client, log=task.log, progress=task.upload_progress()), client


# -- publishing ------------------------------------------------------------------------------


async def publish_notebook(ext: RepoExtension, task: Task, body: NotebookBody) -> JSON:
    contents = ext.server.contents_manager
    model = await ensure_async(contents.get(body.path, content=True, type="notebook"))
    notebook = await ext.blocking(lambda: json.loads(json.dumps(model["content"])))
    environment = None
    if body.attach_environment:
        kernel_name = await _notebook_kernel(ext, body.path, notebook)
        if not kernel_name:
            raise errors.BadRequest(
                f"{body.path} names no kernel; choose a kernel or publish without its environment."
            )
        environment = await _capture(ext, task, kernel_name)
    publisher, client = _publisher(ext, task)
    with client:
        published, record = await ext.blocking(
            publisher.publish_notebook,
            notebook,
            posixpath.basename(body.path),
            body.destination,
            environment=environment,
        )
    fresh = await ensure_async(contents.get(body.path, content=True, type="notebook"))
    fresh["content"]["metadata"][notebooks.METADATA_KEY] = record
    await ensure_async(
        contents.save(
            {"type": "notebook", "format": "json", "content": fresh["content"]}, body.path
        )
    )
    task.log(f"published {published.owner}/{published.name} {published.version}")
    return {**published.to_json(), "notebook_metadata": record}


async def environment_name(ext: RepoExtension, path: str) -> str:
    """The name sharing the environment of the notebook at ``path`` suggests
    (:func:`notebooks.notebook_environment_name`: the rule its publish follows)."""
    model = await ensure_async(ext.server.contents_manager.get(path, content=True, type="notebook"))
    notebook = await ext.blocking(lambda: json.loads(json.dumps(model["content"])))
    return notebooks.notebook_environment_name(notebook, posixpath.basename(path))


async def _session_notebook(ext: RepoExtension, kernel_id: str) -> str | None:
    """The notebook a running kernel serves, if a session says so."""
    for session in await ensure_async(ext.server.session_manager.list_sessions()):
        kernel = session.get("kernel") or {}
        path = str(session.get("path") or "")
        if kernel.get("id") == kernel_id and path.endswith(".ipynb"):
            return path
    return None


async def publish_environment(ext: RepoExtension, task: Task, body: EnvironmentBody) -> JSON:
    notebook = body.path
    if body.kernel_id:
        try:
            kernel = ext.server.kernel_manager.get_kernel(body.kernel_id)
        except KeyError:
            raise errors.NotFound(f"There is no running kernel {body.kernel_id}.") from None
        notebook = notebook or await _session_notebook(ext, body.kernel_id)
        environment = await _capture(ext, task, kernel.kernel_name, kernel.kernel_spec)
        default = notebooks.slug(kernel.kernel_name, "environment")
    else:
        assert body.kernel_name is not None
        environment = await _capture(ext, task, body.kernel_name)
        default = notebooks.slug(body.kernel_name, "environment")
    if notebook and not body.destination.name:
        default = await environment_name(ext, notebook)
    publisher, client = _publisher(ext, task)
    with client:
        published = await ext.blocking(
            publisher.publish_environment,
            environment,
            body.destination,
            default_name=default,
        )
    task.log(f"published {published.owner}/{published.name} {published.version}")
    return published.to_json()


async def _project_folder(ext: RepoExtension, path: str) -> Path:
    """The folder behind a contents path, through the contents manager first (so its rules
    on hidden paths and the server root apply)."""
    contents = ext.server.contents_manager
    await ensure_async(contents.get(path, content=False, type="directory"))
    return _local_folder(ext, path)


async def preview_project(ext: RepoExtension, body: ProjectPreviewBody) -> JSON:
    """The files a publish of the folder would pack, their count and size, what is left
    out and why; shown before anything is uploaded."""
    folder = await _project_folder(ext, body.path)
    rules = ext.project_rules(include_hidden=body.include_hidden)
    selection = await ext.blocking(select_files, folder, rules)
    return {**selection.summary(), "root": body.path, "include_hidden": body.include_hidden}


async def publish_project(ext: RepoExtension, task: Task, body: ProjectBody) -> JSON:
    folder = await _project_folder(ext, body.path)
    if body.destination.name is None and not body.path.strip("/"):
        raise errors.BadRequest("Give the project a 'name' (the server's root folder has none).")
    rules = ext.project_rules(include_hidden=body.include_hidden)
    selection = await ext.blocking(select_files, folder, rules)
    selection.require_files()
    environment = None
    if selection.spec_file() is None:
        kernel_name = body.kernel_name or ext.server.kernel_manager.default_kernel_name
        environment = await _capture(ext, task, kernel_name)
    publisher, client = _publisher(ext, task)

    def pack_progress(done: int, total: int) -> None:
        task.check_cancelled()
        task.set_progress(done / total if total else 1.0, "Packing the project")

    with client:
        published = await ext.blocking(
            publisher.publish_project,
            folder,
            body.destination,
            rules=rules,
            environment=environment,
            pack_progress=pack_progress,
            selection=selection,
        )
    task.log(f"published {published.owner}/{published.name} {published.version}")
    return published.to_json()


# -- installing ------------------------------------------------------------------------------


async def _exclusive(ext: RepoExtension, task: Task) -> None:
    if ext.install_lock.locked():
        task.state = JobState.PENDING
        task.message = "Waiting for another installation to finish."
    await ext.install_lock.acquire()
    task.state = JobState.RUNNING


async def install(ext: RepoExtension, task: Task, body: InstallBody) -> JSON:
    spec = InstallSpec.parse(body.spec)
    target = await _target(ext, body.kernel_name)
    client = ext.connection.client(need_token=False)
    installer = Installer(
        client,
        target,
        log=task.log,
        progress=task.set_progress,
        extra_index_urls=tuple(ext.extra_index_urls),
        stop=task.cancel_requested,
    )
    await _exclusive(ext, task)
    try:
        with client:
            result = await ext.blocking(installer.install, spec, label=body.label)
    finally:
        ext.install_lock.release()
    task.log(result["message"])
    return result


async def install_environment(ext: RepoExtension, task: Task, body: InstallEnvironmentBody) -> JSON:
    target = await _target(ext, body.kernel_name)
    client = ext.connection.client(need_token=False)
    installer = Installer(
        client,
        target,
        log=task.log,
        progress=task.set_progress,
        extra_index_urls=tuple(ext.extra_index_urls),
        stop=task.cancel_requested,
    )
    await _exclusive(ext, task)
    try:
        with client:
            result = await ext.blocking(
                installer.install_environment, body.owner, body.name, body.version
            )
    finally:
        ext.install_lock.release()
    task.log(result["message"])
    return result


# -- a new environment as a kernel ---------------------------------------------------------


def _kernel_prefix(kernel_dirs: list[str]) -> str | None:
    """Where the new kernelspec goes so that this server's KernelSpecManager sees it: the
    user's Jupyter data dir (``None``) when the server reads it, else the first writable
    ``<prefix>/share/jupyter/kernels`` it reads (given as that ``<prefix>``)."""
    from jupyter_repo.client.install.newenv import kernels_dir

    read = [Path(folder).expanduser().resolve() for folder in kernel_dirs]
    if kernels_dir(None).resolve() in read:
        return None
    for folder in read:
        if folder.parts[-3:] == ("share", "jupyter", "kernels"):
            prefix = folder.parent.parent.parent
            writable = folder if folder.exists() else prefix
            if os.access(writable, os.W_OK):
                return str(prefix)
    raise errors.InstallError(
        "This Jupyter server reads kernels from no folder a new kernel can be written to "
        f"({', '.join(map(str, read)) or 'none'})."
    )


async def create_environment(ext: RepoExtension, task: Task, body: CreateEnvironmentBody) -> JSON:
    """Build (or reuse) a new environment from a shared one, register it as a kernel this
    server lists, and answer its kernel name and display name."""
    from jupyter_repo.client.install.newenv import create_environment as create

    specs = ext.server.kernel_spec_manager
    kernel_prefix = _kernel_prefix(list(specs.kernel_dirs) if specs is not None else [])
    client = ext.connection.client(need_token=False)
    with client:
        created = await ext.blocking(
            create,
            client,
            body.spec,
            kernel_prefix=kernel_prefix,
            envs_dir=ext.envs_dir or None,
            log=task.log,
            progress=task.set_progress,
            extra_index_urls=tuple(ext.extra_index_urls),
            stop=task.cancel_requested,
        )
    task.log(created.message)
    return created.to_json()


# -- opening a published notebook ------------------------------------------------------------


def _kind_to_open(client: RepoClient, body: OpenBody) -> tuple[str, JSON]:
    """What ``body`` asks to open (``"ipynb"`` or ``"project"``) and its package."""
    package = client.package(body.owner, body.name)
    version = body.version or package.get("latest_version")
    types = {
        str(item.get("type")) for item in package.get("files", []) if item.get("version") == version
    }
    if body.basename or "ipynb" in types or "project" not in types:
        return "ipynb", package
    return "project", package


def _fetch_notebook(
    client: RepoClient, body: OpenBody, package: JSON, limit: int
) -> tuple[str, JSON]:
    version = body.version or package.get("latest_version")
    files = [item for item in package.get("files", []) if item.get("version") == version]
    if body.basename:
        files = [item for item in files if item.get("basename") == body.basename]
    else:
        files = [item for item in files if item.get("type") == "ipynb"]
    if not files:
        raise errors.NotFound(
            f"{body.owner}/{body.name} {version or ''} has no notebook or project to open."
        )
    basename = files[0]["basename"]
    buffer = io.BytesIO()
    client.download(body.owner, body.name, str(version), basename, buffer, max_bytes=limit)
    try:
        notebook = nbformat.reads(buffer.getvalue().decode("utf-8"), as_version=4)
    except Exception as error:
        raise errors.BadRequest(f"{basename} is not a notebook: {error}") from None
    return posixpath.basename(basename), notebook


async def _free_path(contents: Any, directory: str, filename: str) -> str:
    stem, dot, suffix = filename.rpartition(".")
    stem, suffix = (stem, dot + suffix) if dot else (filename, "")
    candidate = posixpath.join(directory, filename) if directory else filename
    counter = 1
    while await ensure_async(contents.exists(candidate)):
        name = f"{stem} ({counter}){suffix}"
        candidate = posixpath.join(directory, name) if directory else name
        counter += 1
    return candidate


async def open_package(ext: RepoExtension, body: OpenBody) -> JSON:
    """Bring a notebook (saved through the contents manager, under a free name) or a
    project (unpacked into a new folder) into the workspace: ``{"path", "type"}``."""
    contents = ext.server.contents_manager
    if body.directory:
        await ensure_async(contents.get(body.directory, content=False, type="directory"))
    client = ext.connection.client(need_token=False)
    with client:
        kind, package = await ext.blocking(_kind_to_open, client, body)
        if kind == "project":
            return await _open_project(ext, client, body)
        filename, notebook = await ext.blocking(
            _fetch_notebook, client, body, package, ext.max_notebook_size
        )
    if body.kernel_name:  # "Open with its environment": the kernel it was just given
        try:
            spec = await _kernel_spec(ext, body.kernel_name)
        except errors.CaptureError as error:
            raise errors.BadRequest(error.message) from None
        notebook.setdefault("metadata", {})["kernelspec"] = {
            "name": body.kernel_name,
            "display_name": spec.display_name,
            "language": spec.language,
        }
    path = await _free_path(contents, body.directory.strip("/"), filename)
    await ensure_async(
        contents.save({"type": "notebook", "format": "json", "content": notebook}, path)
    )
    return {"path": path, "type": "notebook"}


async def _open_project(ext: RepoExtension, client: RepoClient, body: OpenBody) -> JSON:
    """Unpack a project into a new folder of the workspace (``name``, else ``name (1)``…),
    with the checks of ``jupyter repo open`` (names, links, sizes). The archive is written
    to disk, not through the contents manager, so the workspace must be a folder here."""
    contents = ext.server.contents_manager
    os_path = getattr(contents, "_get_os_path", None)
    if os_path is None:
        raise errors.BadRequest(
            "Projects can only be opened where the workspace is a folder on the Jupyter "
            "server's disk; use `jupyter repo open` in a terminal instead."
        )
    directory = body.directory.strip("/")
    folder = Path(os_path(directory))  # inside the root; the contents manager checks it
    name = safe_relative(body.name, "the project's folder name").name
    free = await _free_path(contents, directory, name)
    opener = Opener(client, log=ext.log.info)
    opened = await ext.blocking(
        opener.open,
        Ref(body.owner, body.name, body.version),
        folder,
        project_folder=posixpath.basename(free),
    )
    return {"path": posixpath.join(directory, str(opened.paths[0])), "type": "directory"}
