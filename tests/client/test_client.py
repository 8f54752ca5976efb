"""The Python client on its own: streaming uploads and downloads with progress and
cancellation, saved credentials, environment specs the repository accepts."""

from __future__ import annotations

import json
import os
import stat
import sys
from pathlib import Path
from types import SimpleNamespace

import pytest
import requests
import yaml

from jupyter_repo.client import errors
from jupyter_repo.client.api import RepoClient
from jupyter_repo.client.config import CredentialStore, normalise_url, resolve
from jupyter_repo.client.environment import capture_prefix, kernel_interpreter, pin
from jupyter_repo.repository.inspect.envspec import parse_spec
from tests.support.server import RepoServer


def test_upload_and_download_stream_with_progress(
    server: RepoServer, user: str, tmp_path: Path
) -> None:
    client = RepoClient(server.url, server.token(user, ["api:write"]))
    source = tmp_path / "data.csv"
    source.write_bytes(b"x," * (3 << 20))  # 6 MiB: several chunks
    seen: list[tuple[int, int]] = []
    result = client.upload(
        user,
        "dataset",
        "1",
        source,
        package_type="file",
        summary="Numbers",
        progress=lambda done, total: seen.append((done, total)),
    )
    size = source.stat().st_size
    assert result["size"] == size and result["basename"] == "data.csv"
    assert seen[0] == (0, size) and seen[-1] == (size, size) and len(seen) >= 7
    assert [done for done, _ in seen] == sorted(done for done, _ in seen)

    downloaded: list[int] = []
    target = tmp_path / "copy.csv"
    assert (
        client.download(
            user,
            "dataset",
            "1",
            "data.csv",
            target,
            progress=lambda done, _total: downloaded.append(done),
        )
        == size
    )
    assert target.read_bytes() == source.read_bytes() and downloaded[-1] == size
    with pytest.raises(errors.TooLarge):
        client.download(user, "dataset", "1", "data.csv", tmp_path / "x", max_bytes=1000)

    # The rest of the small API: show, release, labels, tokens, search.
    assert client.package(user, "dataset")["summary"] == "Numbers"
    assert [item["basename"] for item in client.release(user, "dataset", "1")["distributions"]] == [
        "data.csv"
    ]
    assert "main" in json.dumps(client.labels(user))
    assert len(client.tokens()) == 1
    items, total = client.search("dataset", owner=user)
    assert total == 1 and items[0]["full_name"] == f"{user}/dataset"
    assert client.next_version(user, "dataset") == "2"
    with pytest.raises(errors.NotFound):
        client.package(user, "no-such-package")


def test_a_csv_that_is_not_really_csv_is_still_stored(
    server: RepoServer, user: str, tmp_path: Path
) -> None:
    client = RepoClient(server.url, server.token(user, ["api:write"]))
    source = tmp_path / "odd.csv"
    source.write_bytes(b"x\ry,z\n\x00\xff")  # a bare CR inside a field: csv.Error
    result = client.upload(user, "odd", "1", source, package_type="file")
    assert result["size"] == source.stat().st_size and result["attrs"]["kind"] == "csv"


def test_a_cancelled_upload_stores_nothing(server: RepoServer, user: str, tmp_path: Path) -> None:
    client = RepoClient(server.url, server.token(user, ["api:write"]))
    source = tmp_path / "big.csv"
    source.write_bytes(b"y" * (4 << 20))

    def progress(done: int, _total: int) -> None:
        if done >= 1 << 20:
            raise errors.Cancelled("stop")

    with pytest.raises(errors.Cancelled):
        client.upload(user, "cancelled", "1", source, package_type="file", progress=progress)
    assert client.find_package(user, "cancelled") is None


def test_namespaces_lists_where_the_user_may_publish(
    server: RepoServer, user: str, unique: str
) -> None:
    writer_org = server.create_org(f"a{unique}", user)
    other = server.create_user(f"b{unique}")
    read_org = server.create_org(f"c{unique}", other)
    server.add_to_group(read_org, "readers", user, "read")
    write_org = server.create_org(f"d{unique}", other)
    server.add_to_group(write_org, "writers", user, "write")
    client = RepoClient(server.url, server.token(user, ["api:write"]))
    assert [(item["login"], item["kind"]) for item in client.namespaces()] == [
        (user, "user"),
        (writer_org, "org"),
        (write_org, "org"),
    ]
    reader = RepoClient(server.url, server.token(user, ["api:read"]))
    assert reader.namespaces() == []  # a read-only token publishes nowhere
    response = requests.get(f"{server.api}/namespaces", timeout=10)
    assert response.status_code == 401


def test_credentials_are_saved_privately(tmp_path: Path) -> None:
    store = CredentialStore(tmp_path / "config")
    store.save_token("http://repo.example:8600/api/", "jr-secret", login="ann")
    store.set_default_url("http://repo.example:8600")
    assert stat.S_IMODE(store.tokens_path.stat().st_mode) == 0o600
    os.chmod(store.tokens_path, 0o644)
    store.save_token("https://other.example", "jr-other")  # rewriting restores 0600
    assert stat.S_IMODE(store.tokens_path.stat().st_mode) == 0o600
    assert store.token_for("http://repo.example:8600") == "jr-secret"
    assert json.loads(store.settings_path.read_text()) == {"url": "http://repo.example:8600"}

    # Explicit values, then the environment, then the saved files.
    assert resolve(store=store, environ={}).token == "jr-secret"
    environ = {"JUPYTER_REPO_URL": "https://other.example", "JUPYTER_REPO_TOKEN": "jr-env"}
    assert resolve(store=store, environ=environ).token == "jr-env"
    assert (
        resolve(store=store, environ={"JUPYTER_REPO_URL": "https://other.example"}).token
        == "jr-other"
    )
    assert resolve("http://elsewhere.example", store=store, environ={}).token is None
    assert store.forget_token("http://repo.example:8600")["token"] == "jr-secret"
    assert store.token_for("http://repo.example:8600") is None


@pytest.mark.parametrize(
    "url",
    [
        "ftp://host",
        "http://user:pw@host",
        "http://host/t/jr-abc/",
        "http://host/?token=1",
        "repo.example",
    ],
)
def test_urls_never_carry_credentials(url: str) -> None:
    with pytest.raises(errors.BadRequest):
        normalise_url(url)


def test_conda_prefix_specs_are_accepted_by_the_repository(tmp_path: Path) -> None:
    """A conda prefix (no interpreter to run) → environment.yml and an @EXPLICIT lock."""
    meta = tmp_path / "env" / "conda-meta"
    meta.mkdir(parents=True)
    for name, version, build in (("zlib", "1.3.1", "h4ab18f5_1"), ("python", "3.12.4", "h2")):
        (meta / f"{name}-{version}-{build}.json").write_text(
            json.dumps(
                {
                    "name": name,
                    "version": version,
                    "build": build,
                    "subdir": "linux-64",
                    "channel": "https://conda.anaconda.org/conda-forge/linux-64",
                    "url": f"https://conda.anaconda.org/conda-forge/linux-64/{name}-{version}-{build}"
                    ".conda",
                    "sha256": "ab" * 32,
                }
            )
        )
    environment = capture_prefix(tmp_path / "env")
    files = environment.files("analysis")
    assert set(files) == {"environment.yml", "requirements.txt", "conda-explicit.txt"}
    document = yaml.safe_load(files["environment.yml"])
    assert document == {
        "name": "analysis",
        "channels": ["conda-forge"],
        "dependencies": ["python=3.12.4=h2", "zlib=1.3.1=h4ab18f5_1"],
    }
    explicit = parse_spec(files["conda-explicit.txt"], "conda-explicit.txt")
    assert explicit["format"] == "explicit"
    assert explicit["conda"] == ["python-3.12.4-h2.conda", "zlib-1.3.1-h4ab18f5_1.conda"]
    assert (
        parse_spec(files["environment.yml"], "environment.yml")["conda"] == document["dependencies"]
    )
    assert parse_spec(files["requirements.txt"], "requirements.txt")["pip"] == []
    assert pin("odd", "2.0-beta_x") == "odd===2.0-beta_x"
    assert parse_spec("odd===2.0-beta_x\n", "requirements.txt")["pip"] == ["odd===2.0-beta_x"]


def test_kernel_interpreters() -> None:
    python = SimpleNamespace(
        argv=["python", "-m", "ipykernel_launcher"], language="python", env={"A": "1"}
    )
    resolved = kernel_interpreter("py", python)
    assert (resolved.python, resolved.env) == (sys.executable, {"A": "1"})
    with pytest.raises(errors.CaptureError, match="runs R, not Python"):
        kernel_interpreter("ir", SimpleNamespace(argv=["R"], language="R", env={}))
    with pytest.raises(errors.CaptureError, match="not found"):
        kernel_interpreter("x", SimpleNamespace(argv=["no-such-python"], language="python", env={}))
