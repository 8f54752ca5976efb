"""Notebooks, environment specs and projects upload through the API and come back with the
metadata the server extracted from them (anaconda-client 1.16 refuses these types itself)."""

from __future__ import annotations

import io
import tarfile
from pathlib import Path

import requests

from jupyter_repo.demo import builders
from tests.support.http import upload
from tests.support.server import RepoServer


def test_notebook_metadata_is_extracted(server: RepoServer, user: str, samples: Path) -> None:
    token = server.token(user)
    notebook = builders.notebook(samples, "study.ipynb", title="River temperatures")
    response = upload(
        server.api, token, user, "river-study", "1", "study.ipynb", notebook, type="ipynb"
    )
    assert response.status_code == 201, response.text
    created = response.json()
    assert created["type"] == "ipynb"
    assert created["url"] == f"{server.url}/{user}/river-study"

    package = requests.get(f"{server.api}/package/{user}/river-study").json()
    assert package["package_types"] == ["ipynb"]
    attrs = package["files"][0]["attrs"]
    assert attrs["kernel_name"] == "python3"
    assert attrs["language"] == "python"
    assert attrs["title"] == "River temperatures"
    assert attrs["summary"].startswith("A short analysis of sample data")
    assert attrs["code_cells"] == 3 and attrs["markdown_cells"] == 1
    assert package["summary"].startswith("A short analysis")

    download = requests.get(package["files"][0]["download_url"])
    assert download.content == notebook.read_bytes()


def test_environment_yml_dependencies_are_extracted(
    server: RepoServer, user: str, samples: Path
) -> None:
    token = server.token(user)
    spec = builders.environment_file(samples)
    response = upload(server.api, token, user, "demo-env", "1", "environment.yml", spec, type="env")
    assert response.status_code == 201, response.text
    file = requests.get(f"{server.api}/package/{user}/demo-env").json()["files"][0]
    assert file["type"] == "env"
    assert file["attrs"]["format"] == "environment.yml"
    assert file["attrs"]["env_name"] == "demo-env"
    assert file["attrs"]["channels"] == ["conda-forge"]
    assert file["dependencies"]["conda"] == ["python=3.11", "numpy>=1.26", "pandas", "pip"]
    assert file["dependencies"]["pip"] == ["requests==2.31.0"]


def test_requirements_and_explicit_lock_files(server: RepoServer, user: str, samples: Path) -> None:
    token = server.token(user)
    requirements = builders.environment_file(samples, "requirements.txt", builders.REQUIREMENTS_TXT)
    response = upload(
        server.api, token, user, "reqs", "1", "requirements.txt", requirements, type="env"
    )
    assert response.status_code == 201, response.text
    assert response.json()["dependencies"]["pip"] == ["requests==2.31.0", "numpy>=1.26"]

    lock = samples / "explicit.txt"
    lock.write_text(
        "# platform: linux-64\n@EXPLICIT\n"
        "https://conda.example.org/main/linux-64/zlib-1.3-h0_0.conda#abc\n"
    )
    response = upload(server.api, token, user, "locked", "1", "explicit.txt", lock, type="env")
    assert response.status_code == 201, response.text
    assert response.json()["attrs"]["format"] == "explicit"
    assert response.json()["dependencies"]["conda"] == ["zlib-1.3-h0_0.conda"]


def test_project_file_list_and_spec_are_extracted(
    server: RepoServer, user: str, samples: Path
) -> None:
    token = server.token(user)
    archive = builders.project_archive(samples, "field-work")
    response = upload(
        server.api, token, user, "field-work", "1", archive.name, archive, type="project"
    )
    assert response.status_code == 201, response.text
    attrs = response.json()["attrs"]
    paths = {entry["path"] for entry in attrs["files"]}
    assert paths == {"environment.yml", "analysis.ipynb", "data/measurements.csv", "README.md"}
    assert attrs["spec_file"] == "environment.yml"
    assert attrs["spec"]["pip"] == ["requests==2.31.0"]
    assert attrs["notebooks"] == ["analysis.ipynb"]
    assert attrs["num_files"] == 4


def test_project_without_spec_is_refused(server: RepoServer, user: str) -> None:
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz") as archive:
        data = b"print('hi')\n"
        info = tarfile.TarInfo("proj/main.py")
        info.size = len(data)
        archive.addfile(info, io.BytesIO(data))
    response = upload(
        server.api,
        server.token(user),
        user,
        "nospec",
        "1",
        "nospec.tar.gz",
        buffer.getvalue(),
        type="project",
    )
    assert response.status_code == 400
    assert "project spec" in response.json()["error"]
    assert requests.get(f"{server.api}/package/{user}/nospec").status_code == 404


def test_data_files_are_type_file_with_columns(
    server: RepoServer, user: str, samples: Path
) -> None:
    token = server.token(user)
    csv = builders.csv_file(samples)
    response = upload(server.api, token, user, "weather", "2024.1", csv.name, csv)
    assert response.status_code == 201, response.text
    assert response.json()["type"] == "file"
    assert response.json()["attrs"]["columns"] == ["station", "time", "temperature"]
    tsv = samples / "table.tsv"
    tsv.write_text("a\tb\n1\t2\n")
    response = upload(server.api, token, user, "weather", "2024.1", tsv.name, tsv)
    assert response.json()["attrs"]["kind"] == "tsv"
    text = samples / "notes.txt"
    text.write_text("hello\n")
    assert (
        upload(server.api, token, user, "weather", "2024.1", text.name, text, type="file").json()[
            "attrs"
        ]["kind"]
        == "text"
    )
