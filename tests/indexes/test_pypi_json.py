"""Warehouse's JSON API, PEP 691's ``latest`` media types and sdists' static metadata (PEP
643 + 658), over real HTTP against a real server."""

from __future__ import annotations

import hashlib
import io
import re
import tarfile
import uuid
from dataclasses import dataclass
from pathlib import Path

import pytest
import requests

from tests.support import publish
from tests.support.server import RepoServer

V1_JSON = "application/vnd.pypi.simple.v1+json"
V1_HTML = "application/vnd.pypi.simple.v1+html"

#: The keys Warehouse documents for ``info`` and for each file (docs/api-reference/json).
INFO_KEYS = {
    "author",
    "author_email",
    "bugtrack_url",
    "classifiers",
    "description",
    "description_content_type",
    "docs_url",
    "download_url",
    "downloads",
    "dynamic",
    "home_page",
    "keywords",
    "license",
    "license_expression",
    "license_files",
    "maintainer",
    "maintainer_email",
    "name",
    "package_url",
    "platform",
    "project_url",
    "project_urls",
    "provides_extra",
    "release_url",
    "requires_dist",
    "requires_python",
    "summary",
    "version",
    "yanked",
    "yanked_reason",
}
FILE_KEYS = {
    "comment_text",
    "digests",
    "downloads",
    "filename",
    "has_sig",
    "md5_digest",
    "packagetype",
    "python_version",
    "requires_python",
    "size",
    "upload_time",
    "upload_time_iso_8601",
    "url",
    "yanked",
    "yanked_reason",
}


def sdist(directory: Path, name: str, version: str, pkg_info: str) -> Path:
    """An sdist whose ``PKG-INFO`` is exactly ``pkg_info``."""
    top = f"{name.replace('-', '_')}-{version}"
    members = {
        f"{top}/PKG-INFO": pkg_info.encode(),
        f"{top}/pyproject.toml": (
            f'[project]\nname = "{name}"\nversion = "{version}"\n'
            '[build-system]\nrequires = ["setuptools>=61"]\n'
            'build-backend = "setuptools.build_meta"\n'
        ).encode(),
    }
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz") as archive:
        for path, data in members.items():
            info = tarfile.TarInfo(path)
            info.size = len(data)
            archive.addfile(info, io.BytesIO(data))
    directory.mkdir(parents=True, exist_ok=True)
    target = directory / f"{top}.tar.gz"
    target.write_bytes(buffer.getvalue())
    return target


STATIC_PKG_INFO = """Metadata-Version: 2.2
Name: static-src
Version: {version}
Summary: Static sdist metadata
Author: Ada Lovelace
Keywords: one,two
Classifier: Programming Language :: Python :: 3
Project-URL: Source, https://example.org/static-src
Requires-Python: >=3.9
Requires-Dist: pure-dep>=1.0
Dynamic: Description

Long text.
"""


@dataclass
class Project:
    server: RepoServer
    owner: str
    token: str
    files: dict[str, Path]

    @property
    def base(self) -> str:
        return f"{self.server.url}/pypi/{self.owner}"


@pytest.fixture(scope="module")
def project(server: RepoServer, tmp_path_factory: pytest.TempPathFactory) -> Project:
    owner = server.create_user(f"pj{uuid.uuid4().hex[:8]}")
    token = server.token(owner)
    work = tmp_path_factory.mktemp("json-api")
    files = {
        "dep1": publish.wheel(server, token, owner, work, "pure-dep", "1.0"),
        "dep2": publish.wheel(
            server, token, owner, work, "pure-dep", "2.0", requires=["extra-thing>=3"]
        ),
        "dep3rc": publish.wheel(server, token, owner, work, "pure-dep", "3.0rc1"),
        "dev": publish.wheel(server, token, owner, work, "pure-dep", "2.5", labels=("dev",)),
        "secret": publish.wheel(server, token, owner, work, "secret-lib", "0.1", private=True),
    }
    static = sdist(work / "s", "static-src", "1.0", STATIC_PKG_INFO.format(version="1.0"))
    publish.upload(server, token, owner, static, package="static-src", version="1.0")
    files["static"] = static
    dynamic_info = STATIC_PKG_INFO.format(version="1.1").replace(
        "Dynamic: Description", "Dynamic: Requires-Dist"
    )
    dynamic = sdist(work / "d", "static-src", "1.1", dynamic_info)
    publish.upload(server, token, owner, dynamic, package="static-src", version="1.1")
    files["dynamic"] = dynamic
    old_info = STATIC_PKG_INFO.format(version="1.2").replace("Version: 2.2", "Version: 2.1")
    old = sdist(work / "o", "static-src", "1.2", old_info)
    publish.upload(server, token, owner, old, package="static-src", version="1.2")
    files["old"] = old
    return Project(server, owner, token, files)


def _get(url: str, **headers: str) -> requests.Response:
    return requests.get(url, headers=headers, timeout=30, allow_redirects=False)


# -- PEP 691: the latest media types ----------------------------------------------------------


@pytest.mark.parametrize(
    ("accept", "expected"),
    [
        ("application/vnd.pypi.simple.latest+json", V1_JSON),
        ("application/vnd.pypi.simple.latest+html", V1_HTML),
        ("application/vnd.pypi.simple.latest+json;q=0.5, text/html;q=0.9", "text/html"),
        ("application/vnd.pypi.simple.latest+html;q=0.1, image/png", V1_HTML),
    ],
    ids=["latest-json", "latest-html", "text-html-preferred", "latest-html-fallback"],
)
@pytest.mark.parametrize("page", ["root", "project"])
def test_latest_media_types_answer_with_the_v1_type(
    project: Project, accept: str, expected: str, page: str
) -> None:
    url = f"{project.base}/simple/" + ("pure-dep/" if page == "project" else "")
    response = _get(url, Accept=accept)
    assert response.status_code == 200, response.text
    assert response.headers["Content-Type"].split(";")[0] == expected
    if expected == V1_JSON:
        assert response.json()["meta"]["api-version"].startswith("1.")


@pytest.mark.parametrize("value", ["latest+json", "latest+html"])
def test_latest_media_types_in_the_format_query(project: Project, value: str) -> None:
    response = requests.get(
        f"{project.base}/simple/",
        params={"format": f"application/vnd.pypi.simple.{value}"},
        timeout=30,
    )
    assert response.status_code == 200
    assert (
        response.headers["Content-Type"].split(";")[0]
        == f"application/vnd.pypi.simple.v1+{value[7:]}"
    )


# -- the JSON API -------------------------------------------------------------------------------


def test_project_document_has_warehouses_shape(project: Project) -> None:
    response = _get(f"{project.base}/pypi/pure-dep/json")
    assert response.status_code == 200, response.text
    assert response.headers["Content-Type"].startswith("application/json")
    document = response.json()
    assert set(document) == {"info", "last_serial", "releases", "urls", "vulnerabilities"}
    info = document["info"]
    assert set(info) == INFO_KEYS
    # The latest final release (3.0rc1 is a pre-release; 2.5 is only on the dev label).
    assert info["version"] == "2.0" and info["name"] == "pure-dep"
    assert info["requires_dist"] == ["extra-thing>=3"]
    assert info["requires_python"] == ">=3.8"
    assert info["summary"] == "The pure-dep sample wheel"
    assert info["release_url"] == f"{project.base}/pypi/pure-dep/2.0/"
    assert info["yanked"] is False and info["downloads"]["last_day"] == -1
    assert list(document["releases"]) == ["1.0", "2.0", "3.0rc1"]
    assert isinstance(document["last_serial"], int)
    assert [item["filename"] for item in document["urls"]] == [project.files["dep2"].name]
    for version, key in (("1.0", "dep1"), ("2.0", "dep2"), ("3.0rc1", "dep3rc")):
        (entry,) = document["releases"][version]
        _check_file_entry(entry, project.files[key])


def _check_file_entry(entry: dict, path: Path) -> None:
    data = path.read_bytes()
    assert set(entry) == FILE_KEYS
    assert entry["filename"] == path.name and entry["size"] == len(data)
    assert entry["digests"] == {
        "md5": hashlib.md5(data).hexdigest(),
        "sha256": hashlib.sha256(data).hexdigest(),
    }
    assert entry["md5_digest"] == entry["digests"]["md5"]
    assert entry["packagetype"] == ("bdist_wheel" if path.name.endswith(".whl") else "sdist")
    assert entry["python_version"] == ("py3" if path.name.endswith(".whl") else "source")
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d", entry["upload_time"])
    assert entry["upload_time_iso_8601"].startswith(entry["upload_time"])
    assert entry["upload_time_iso_8601"].endswith("Z")
    assert entry["yanked"] is False and entry["yanked_reason"] is None
    # An absolute URL that downloads exactly these bytes (no hashing of files needed).
    assert entry["url"].startswith("http://")
    assert requests.get(entry["url"], timeout=30).content == data


def test_release_document_has_only_its_release(project: Project) -> None:
    document = _get(f"{project.base}/pypi/pure-dep/1.0/json").json()
    assert set(document) == {"info", "last_serial", "urls", "vulnerabilities"}
    assert document["info"]["version"] == "1.0" and document["info"]["requires_dist"] is None
    (entry,) = document["urls"]
    _check_file_entry(entry, project.files["dep1"])
    # Other spellings of the version find the release as it was published.
    assert _get(f"{project.base}/pypi/pure-dep/3.0.0rc1/json").json()["info"]["version"] == (
        "3.0rc1"
    )


def test_labels_select_the_releases(project: Project) -> None:
    document = _get(f"{project.base}/label/dev/pypi/pure-dep/json").json()
    assert list(document["releases"]) == ["2.5"]
    assert document["urls"][0]["url"] == (
        f"{project.base}/label/dev/simple/pure-dep/{project.files['dev'].name}"
    )
    assert _get(f"{project.base}/label/dev/pypi/pure-dep/1.0/json").status_code == 404


def test_other_spellings_of_the_name_are_redirected(project: Project) -> None:
    response = _get(f"{project.base}/pypi/Pure_Dep/json")
    assert response.status_code == 301 and response.headers["Location"] == "../pure-dep/json"
    response = _get(f"{project.base}/pypi/Pure.Dep/2.0/json")
    assert response.status_code == 301
    assert response.headers["Location"] == "../../pure-dep/2.0/json"
    assert requests.get(f"{project.base}/pypi/Pure.Dep/2.0/json", timeout=30).status_code == 200


def test_private_projects_answer_like_missing_ones(project: Project) -> None:
    for url in (
        f"{project.base}/pypi/secret-lib/json",
        f"{project.base}/pypi/secret-lib/0.1/json",
    ):
        private = _get(url)
        missing = _get(url.replace("secret-lib", "no-such-lib"))
        assert private.status_code == missing.status_code == 404
        assert private.json() == missing.json() | {"error": private.json()["error"]}
    read = project.server.token(project.owner, ["pypi:download"])
    with_header = requests.get(
        f"{project.base}/pypi/secret-lib/json", auth=("__token__", read), timeout=30
    )
    assert with_header.status_code == 200
    assert with_header.headers["Cache-Control"].startswith("private")
    # A token in the path stays in the file URLs, so the downloads they name are allowed.
    tokened = f"{project.server.url}/pypi/t/{read}/{project.owner}"
    entry = _get(f"{tokened}/pypi/secret-lib/json").json()["urls"][0]
    assert entry["url"].startswith(f"{project.server.url}/t/{read}/pypi/{project.owner}/simple/")
    assert requests.get(entry["url"], timeout=30).content == project.files["secret"].read_bytes()


@pytest.mark.parametrize(
    "path",
    ["pypi/no-such/json", "pypi/pure-dep/9.9/json", "pypi/pure-dep/..%2F/json", "pypi/-bad-/json"],
)
def test_unknown_projects_and_releases_are_404(project: Project, path: str) -> None:
    response = _get(f"{project.base}/{path}")
    assert response.status_code == 404 and "error" in response.json()


# -- sdists: static metadata (PEP 643) as PEP 658 files -----------------------------------


def test_static_sdist_metadata_is_served_like_a_wheels(project: Project) -> None:
    static = project.files["static"]
    page = _get(f"{project.base}/simple/static-src/").text
    link = re.search(rf'<a href="{re.escape(static.name)}#sha256=[0-9a-f]+"([^>]*)>', page)
    assert link is not None
    metadata = re.search(r'data-core-metadata="sha256=([0-9a-f]{64})"', link.group(1))
    assert metadata is not None
    assert f'data-dist-info-metadata="sha256={metadata.group(1)}"' in link.group(1)
    served = _get(f"{project.base}/simple/static-src/{static.name}.metadata")
    assert served.status_code == 200
    assert served.content == STATIC_PKG_INFO.format(version="1.0").encode()
    assert hashlib.sha256(served.content).hexdigest() == metadata.group(1)

    detail = _get(f"{project.base}/simple/static-src/", Accept=V1_JSON).json()
    entries = {entry["filename"]: entry for entry in detail["files"]}
    assert entries[static.name]["core-metadata"] == {"sha256": metadata.group(1)}
    # Dynamic dependencies, or metadata older than 2.2: nothing to rely on, nothing served.
    for key in ("dynamic", "old"):
        name = project.files[key].name
        assert entries[name]["core-metadata"] is False
        assert _get(f"{project.base}/simple/static-src/{name}.metadata").status_code == 404
        assert f'href="{name}#' in page and "data-core-metadata" not in page.split(name)[1]


def test_json_api_reads_an_sdists_static_metadata(project: Project) -> None:
    info = _get(f"{project.base}/pypi/static-src/1.0/json").json()["info"]
    assert info["author"] == "Ada Lovelace" and info["keywords"] == "one,two"
    assert info["classifiers"] == ["Programming Language :: Python :: 3"]
    assert info["project_urls"] == {"Source": "https://example.org/static-src"}
    assert info["requires_dist"] == ["pure-dep>=1.0"] and info["requires_python"] == ">=3.9"
    assert info["dynamic"] == ["Description"]
    # Without served metadata the inspection's record still answers the essentials.
    older = _get(f"{project.base}/pypi/static-src/1.2/json").json()["info"]
    assert older["requires_dist"] == ["pure-dep>=1.0"] and older["requires_python"] == ">=3.9"


def test_pip_compile_takes_hashes_from_the_json_api(project: Project, tmp_path: Path) -> None:
    """pip-tools (``pip-compile --generate-hashes``) reads every file's sha256 from
    ``<index>/../pypi/<project>/json`` and the dependencies from the PEP 658 metadata, so
    it downloads no distribution to hash it."""
    from tests.indexes.test_pypi_index import BIN, _run

    requirements = tmp_path / "requirements.in"
    requirements.write_text("static-src==1.0\n")
    output = tmp_path / "requirements.txt"
    before = len(project.server.log_text())
    options = ["--generate-hashes", "--no-header", "--no-annotate"]
    options += ["--cache-dir", str(tmp_path / "cache"), "--index-url", f"{project.base}/simple"]
    result = _run(
        [str(BIN / "pip-compile"), *options, "--output-file", str(output), str(requirements)],
        cwd=tmp_path,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    pins = output.read_text()
    # pure-dep 2.0 needs extra-thing, which no index has: 1.0 it is.
    assert "pure-dep==1.0" in pins and "static-src==1.0" in pins
    for key in ("static", "dep1"):
        digest = hashlib.sha256(project.files[key].read_bytes()).hexdigest()
        assert f"--hash=sha256:{digest}" in pins, pins
    # Where pip-tools looks (the server logs only failures, so ask pip the same way).
    from pip._internal.models.index import PackageIndex

    json_api = PackageIndex(f"{project.base}/simple", file_storage_domain="").pypi_url
    assert json_api == f"{project.base}/pypi"
    for name in ("static-src", "pure-dep"):
        assert _get(f"{json_api}/{name}/json").status_code == 200
    assert f"/pypi/{project.owner}/pypi/" not in project.server.log_text()[before:]
