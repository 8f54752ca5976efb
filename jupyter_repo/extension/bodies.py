"""The JSON bodies of the extension's endpoints, checked into typed values (400 otherwise)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from jupyter_repo import bounded_json
from jupyter_repo.client.errors import BadRequest
from jupyter_repo.client.publish import Destination


def parse(raw: bytes) -> dict[str, Any]:
    if not raw.strip():
        return {}
    try:
        value = bounded_json.loads(raw)
    except bounded_json.JSONRefused as error:
        raise BadRequest(f"The request body is not valid JSON: {error}") from None
    if not isinstance(value, dict):
        raise BadRequest("The request body must be a JSON object.")
    return value


def text(
    body: dict[str, Any], key: str, *, required: bool = False, limit: int = 1000
) -> str | None:
    value = body.get(key)
    if value is None or value == "":
        if required:
            raise BadRequest(f"'{key}' is required.")
        return None
    if not isinstance(value, str):
        raise BadRequest(f"'{key}' must be a string.")
    if len(value) > limit:
        raise BadRequest(f"'{key}' is limited to {limit} characters.")
    return value


def flag(body: dict[str, Any], key: str, default: bool) -> bool:
    value = body.get(key, default)
    if value is None:
        return default
    if not isinstance(value, bool):
        raise BadRequest(f"'{key}' must be true or false.")
    return value


def destination(body: dict[str, Any], *, name_required: bool = False) -> Destination:
    owner = text(body, "namespace", required=True, limit=64)
    assert owner is not None
    return Destination(
        owner=owner.lower(),
        name=text(body, "name", required=name_required, limit=128),
        version=text(body, "version", limit=64),
        summary=text(body, "summary", limit=1000),
        label=text(body, "label", limit=128),
        public=flag(body, "public", True),
        # Sent by the Lab dialog, which shows an existing package's visibility: a choice
        # to apply, not only how a new package is created.
        apply_visibility=body.get("public") is not None,
    )


@dataclass(frozen=True)
class NotebookBody:
    path: str
    destination: Destination
    attach_environment: bool

    @classmethod
    def parse(cls, body: dict[str, Any]) -> NotebookBody:
        path = text(body, "path", required=True, limit=4096)
        assert path is not None
        if not path.endswith(".ipynb"):
            raise BadRequest(f"{path} is not a notebook (.ipynb).")
        return cls(path, destination(body), flag(body, "attach_environment", True))


@dataclass(frozen=True)
class EnvironmentBody:
    kernel_name: str | None
    kernel_id: str | None
    destination: Destination
    #: The notebook whose kernel it is; without a name, the environment is named after it.
    path: str | None = None

    @classmethod
    def parse(cls, body: dict[str, Any]) -> EnvironmentBody:
        kernel_name = text(body, "kernel_name", limit=256)
        kernel_id = text(body, "kernel_id", limit=256)
        if bool(kernel_name) == bool(kernel_id):
            raise BadRequest("Give either 'kernel_name' or 'kernel_id'.")
        return cls(kernel_name, kernel_id, destination(body), notebook_path(body))


def notebook_path(body: dict[str, Any], *, required: bool = False) -> str | None:
    """A notebook's contents path (``path``): it must name a ``.ipynb``."""
    path = text(body, "path", required=required, limit=4096)
    if path is not None and not path.endswith(".ipynb"):
        raise BadRequest(f"{path} is not a notebook (.ipynb).")
    return path


@dataclass(frozen=True)
class ProjectBody:
    path: str
    destination: Destination
    kernel_name: str | None
    include_hidden: bool = False

    @classmethod
    def parse(cls, body: dict[str, Any]) -> ProjectBody:
        path = text(body, "path", limit=4096)
        return cls(
            path or "",
            destination(body),
            text(body, "kernel_name", limit=256),
            flag(body, "include_hidden", False),
        )


@dataclass(frozen=True)
class ProjectPreviewBody:
    """Which files a project publish would pack (nothing is uploaded)."""

    path: str
    include_hidden: bool

    @classmethod
    def parse(cls, body: dict[str, Any]) -> ProjectPreviewBody:
        return cls(text(body, "path", limit=4096) or "", flag(body, "include_hidden", False))


@dataclass(frozen=True)
class InstallBody:
    spec: str
    kernel_name: str | None
    label: str | None

    @classmethod
    def parse(cls, body: dict[str, Any]) -> InstallBody:
        spec = text(body, "spec", required=True, limit=300)
        assert spec is not None
        return cls(spec, text(body, "kernel_name", limit=256), text(body, "label", limit=128))


@dataclass(frozen=True)
class InstallEnvironmentBody:
    owner: str
    name: str
    version: str | None
    kernel_name: str | None

    @classmethod
    def parse(cls, body: dict[str, Any]) -> InstallEnvironmentBody:
        owner = text(body, "owner", required=True, limit=64)
        name = text(body, "name", required=True, limit=128)
        assert owner is not None and name is not None
        return cls(
            owner.lower(),
            name,
            text(body, "version", limit=64),
            text(body, "kernel_name", limit=256),
        )


@dataclass(frozen=True)
class CreateEnvironmentBody:
    """A new environment (and kernel) from a shared one, or from a notebook's attached one."""

    owner: str
    name: str
    version: str | None

    @classmethod
    def parse(cls, body: dict[str, Any]) -> CreateEnvironmentBody:
        owner = text(body, "owner", required=True, limit=64)
        name = text(body, "name", required=True, limit=128)
        assert owner is not None and name is not None
        return cls(owner.lower(), name, text(body, "version", limit=64))

    @property
    def spec(self) -> str:
        return "/".join([self.owner, self.name] + ([self.version] if self.version else []))


@dataclass(frozen=True)
class OpenBody:
    owner: str
    name: str
    version: str | None
    basename: str | None
    directory: str
    #: Open it with this kernel (one this server lists): its kernelspec metadata names it.
    kernel_name: str | None = None

    @classmethod
    def parse(cls, body: dict[str, Any]) -> OpenBody:
        owner = text(body, "owner", required=True, limit=64)
        name = text(body, "name", required=True, limit=128)
        assert owner is not None and name is not None
        return cls(
            owner.lower(),
            name,
            text(body, "version", limit=64),
            text(body, "basename", limit=300),
            text(body, "directory", limit=4096) or "",
            text(body, "kernel_name", limit=256),
        )
