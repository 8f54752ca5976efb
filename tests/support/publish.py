"""Publishing test packages through the real one-request upload API."""

from __future__ import annotations

from pathlib import Path

import requests

from jupyter_repo.demo import builders
from tests.support.server import RepoServer


def upload(
    server: RepoServer,
    token: str,
    owner: str,
    path: Path,
    *,
    package: str,
    version: str,
    subdir: str | None = None,
    labels: tuple[str, ...] = (),
    private: bool = False,
    file_type: str | None = None,
) -> dict:
    basename = f"{subdir}/{path.name}" if subdir else path.name
    params: list[tuple[str, str]] = [("label", label) for label in labels]
    if private:
        params.append(("private", "1"))
    if file_type:
        params.append(("type", file_type))
    with open(path, "rb") as body:
        response = requests.put(
            f"{server.api}/upload/{owner}/{package}/{version}/{basename}",
            params=params,
            data=body,
            headers={"Authorization": f"token {token}"},
            timeout=60,
        )
    assert response.status_code == 201, response.text
    return response.json()


def conda(
    server: RepoServer,
    token: str,
    owner: str,
    directory: Path,
    name: str,
    version: str,
    *,
    subdir: str = "noarch",
    labels: tuple[str, ...] = (),
    private: bool = False,
    **build: object,
) -> Path:
    """Build a conda package with the demo builder and upload it; returns the file."""
    path = builders.conda_package(
        directory / f"{name}-{version}-{subdir}", name, version, subdir=subdir, **build
    )  # type: ignore[arg-type]
    upload(
        server,
        token,
        owner,
        path,
        package=name,
        version=version,
        subdir=subdir,
        labels=labels,
        private=private,
    )
    return path


def wheel(
    server: RepoServer,
    token: str,
    owner: str,
    directory: Path,
    name: str,
    version: str,
    *,
    labels: tuple[str, ...] = (),
    private: bool = False,
    **build: object,
) -> Path:
    path = builders.wheel(directory / f"{name}-{version}", name, version, **build)  # type: ignore[arg-type]
    upload(
        server, token, owner, path, package=name, version=version, labels=labels, private=private
    )
    return path
