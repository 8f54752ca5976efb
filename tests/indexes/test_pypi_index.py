"""PyPI simple indexes per namespace and label, used by real pip and uv."""

from __future__ import annotations

import hashlib
import os
import re
import subprocess
import sys
import uuid
from dataclasses import dataclass
from pathlib import Path

import pytest
import requests

from jupyter_repo.demo import builders
from tests.support import processes, publish
from tests.support.server import RepoServer

BIN = Path(sys.executable).parent
JSON = "application/vnd.pypi.simple.v1+json"


@dataclass
class Index:
    owner: str
    token: str
    read_token: str
    url: str  # .../pypi/<owner>/simple
    files: dict[str, Path]


@pytest.fixture(scope="module")
def index(server: RepoServer, tmp_path_factory: pytest.TempPathFactory) -> Index:
    owner = server.create_user(f"py{uuid.uuid4().hex[:8]}")
    token = server.token(owner)
    work = tmp_path_factory.mktemp("wheels")
    files = {
        "dep": publish.wheel(server, token, owner, work, "pure-dep", "1.0"),
        "app": publish.wheel(
            server, token, owner, work, "app-thing", "2.0", requires=["pure-dep>=1.0"]
        ),
        "app3": publish.wheel(
            server,
            token,
            owner,
            work,
            "app-thing",
            "3.0",
            requires=["pure-dep>=1.0"],
            labels=("dev",),
        ),
        "secret": publish.wheel(
            server,
            token,
            owner,
            work,
            "Secret_Pkg",
            "0.5",
            private=True,
            requires_python=">=3.8,<4",
        ),
    }
    sdist = builders.sdist(work / "sdist", "pure-dep", "1.0")
    publish.upload(server, token, owner, sdist, package="pure-dep", version="1.0")
    files["sdist"] = sdist
    read_token = server.token(owner, ["pypi:download"])
    return Index(owner, token, read_token, f"{server.url}/pypi/{owner}/simple", files)


def _run(command: list[str], **kwargs: object) -> subprocess.CompletedProcess[str]:
    env = {
        **os.environ,
        "PIP_CONFIG_FILE": os.devnull,
        "UV_NO_CONFIG": "1",
        "UV_PYTHON_DOWNLOADS": "never",
        "PIP_DISABLE_PIP_VERSION_CHECK": "1",
    }
    return processes.run(command, capture_output=True, text=True, timeout=300, env=env, **kwargs)  # type: ignore[call-overload]


def _venv(path: Path) -> Path:
    _run([sys.executable, "-m", "venv", "--without-pip", str(path)]).check_returncode()
    return path / "bin" / "python"


def _imports(python: Path, code: str) -> str:
    result = _run([str(python), "-c", code])
    assert result.returncode == 0, result.stderr
    return result.stdout.strip()


def _with_credentials(url: str, token: str) -> str:
    return url.replace("http://", f"http://__token__:{token}@")


def test_pip_installs_public_and_private_packages(index: Index, tmp_path: Path) -> None:
    python = _venv(tmp_path / "venv")
    pip = [
        sys.executable,
        "-m",
        "pip",
        "--python",
        str(python),
        "install",
        "--no-cache-dir",
        "--no-input",
    ]
    public = _run([*pip, "--index-url", index.url, "app-thing"])
    assert public.returncode == 0, public.stdout + public.stderr
    assert _imports(python, "import app_thing, pure_dep; print(app_thing.__version__)") == "2.0"

    refused = _run([*pip, "--index-url", index.url, "secret-pkg"])
    assert refused.returncode != 0
    # Token as the Basic password (pip sends the URL's credentials).
    private = _run(
        [*pip, "--index-url", _with_credentials(index.url, index.read_token), "secret-pkg"]
    )
    assert private.returncode == 0, private.stdout + private.stderr
    assert _imports(python, "import secret_pkg; print(secret_pkg.__version__)") == "0.5"


def test_uv_installs_with_labels_and_a_token_in_the_path(
    server: RepoServer, index: Index, tmp_path: Path
) -> None:
    uv = str(BIN / "uv")
    venv = tmp_path / "uvenv"
    _run([uv, "venv", "--python", sys.executable, str(venv)]).check_returncode()
    python = venv / "bin" / "python"
    install = [uv, "pip", "install", "--python", str(python), "--no-cache"]
    dev = f"{server.url}/pypi/{index.owner}/label/dev/simple"
    # uv prefers --extra-index-url over --index-url: dev first, main for the dependency.
    result = _run([*install, "--index-url", index.url, "--extra-index-url", dev, "app-thing"])
    assert result.returncode == 0, result.stderr
    assert _imports(python, "import app_thing; print(app_thing.__version__)") == "3.0"

    tokened = f"{server.url}/pypi/t/{index.read_token}/{index.owner}/simple"
    result = _run([*install, "--index-url", tokened, "secret-pkg"])
    assert result.returncode == 0, result.stderr
    assert _imports(python, "import secret_pkg; print(secret_pkg.__version__)") == "0.5"
    root_tokened = f"{server.url}/t/{index.read_token}/pypi/{index.owner}/simple"
    listing = requests.get(root_tokened + "/", timeout=30)
    assert "secret-pkg/" in listing.text


def test_simple_api_html_json_metadata_and_access(index: Index) -> None:
    # PEP 503 HTML by default; PEP 691 JSON when asked for.
    root = requests.get(index.url + "/", timeout=30)
    assert root.status_code == 200 and root.headers["Content-Type"].startswith("text/html")
    assert 'href="app-thing/"' in root.text and "secret-pkg" not in root.text
    as_json = requests.get(index.url + "/", headers={"Accept": JSON}, timeout=30)
    assert as_json.headers["Content-Type"] == JSON
    assert {"name": "pure-dep"} in as_json.json()["projects"]
    assert as_json.json()["meta"]["api-version"].startswith("1.")
    assert requests.get(index.url, timeout=30, allow_redirects=False).status_code == 301

    page = requests.get(index.url + "/pure-dep/", timeout=30)
    wheel = index.files["dep"]
    digest = hashlib.sha256(wheel.read_bytes()).hexdigest()
    assert f'href="{wheel.name}#sha256={digest}"' in page.text
    assert 'data-requires-python="&gt;=3.8"' in page.text
    assert index.files["sdist"].name in page.text
    metadata = re.search(r'data-core-metadata="sha256=([0-9a-f]{64})"', page.text)
    assert metadata and f'data-dist-info-metadata="sha256={metadata.group(1)}"' in page.text
    core = requests.get(f"{index.url}/pure-dep/{wheel.name}.metadata", timeout=30)
    assert hashlib.sha256(core.content).hexdigest() == metadata.group(1)
    assert b"Name: pure-dep" in core.content

    detail = requests.get(index.url + "/pure-dep/", headers={"Accept": JSON}, timeout=30).json()
    assert detail["name"] == "pure-dep" and detail["versions"] == ["1.0"]
    entry = next(item for item in detail["files"] if item["filename"] == wheel.name)
    assert entry["hashes"] == {"sha256": digest}
    assert entry["requires-python"] == ">=3.8"
    assert entry["core-metadata"] == {"sha256": metadata.group(1)}
    assert entry["size"] == wheel.stat().st_size

    # Files: Range, HEAD, ETag; pages: ETag/304.
    file_url = f"{index.url}/pure-dep/{wheel.name}"
    assert requests.get(file_url, timeout=30).content == wheel.read_bytes()
    part = requests.get(file_url, headers={"Range": "bytes=0-3"}, timeout=30)
    assert part.status_code == 206 and part.content == b"PK\x03\x04"
    assert requests.head(file_url, timeout=30).headers["Content-Length"] == str(
        wheel.stat().st_size
    )
    etag = page.headers["ETag"]
    assert (
        requests.get(
            index.url + "/pure-dep/", headers={"If-None-Match": etag}, timeout=30
        ).status_code
        == 304
    )

    # PEP 503 normalisation: other spellings redirect (relatively) to the normal form.
    odd = requests.get(index.url + "/Secret_Pkg/", timeout=30, allow_redirects=False)
    assert odd.status_code == 301 and odd.headers["Location"] == "../secret-pkg/"

    # Private: 404 without a token, listed with one; a refused token reads like none, but
    # is named in a warning (tests/client/test_stale_token.py has the rest).
    assert requests.get(index.url + "/secret-pkg/", timeout=30).status_code == 404
    authorized = requests.get(
        index.url + "/secret-pkg/", auth=("__token__", index.read_token), timeout=30
    )
    assert authorized.status_code == 200 and "Cache-Control" in authorized.headers
    assert authorized.headers["Cache-Control"].startswith("private")
    assert 'data-requires-python="&gt;=3.8,&lt;4"' in authorized.text
    refused = requests.get(
        index.url + "/", auth=("__token__", "jr-not-a-real-token-000"), timeout=30
    )
    assert refused.status_code == 200 and "secret-pkg" not in refused.text
    assert "invalid, expired or revoked" in refused.headers["Warning"]
    assert (
        requests.get(f"{index.url}/secret-pkg/{index.files['secret'].name}", timeout=30).status_code
        == 404
    )

    # Labels select what is visible; unknown ones and unknown formats are refused clearly.
    dev = index.url.replace("/simple", "/label/dev/simple")
    assert "app-thing-3.0" not in requests.get(index.url + "/app-thing/", timeout=30).text
    assert "app_thing-3.0" in requests.get(dev + "/app-thing/", timeout=30).text
    assert (
        requests.get(
            index.url.replace("/simple", "/label/nope/simple") + "/", timeout=30
        ).status_code
        == 404
    )
    refused = requests.get(index.url + "/", headers={"Accept": "image/png"}, timeout=30)
    assert refused.status_code == 406 and "error" in refused.json()
