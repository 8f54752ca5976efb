"""PyPI's upload API with the real clients: twine, uv, poetry, pdm and hatch publish to a live
server at the URL a user configures (``/pypi/<owner>/``), then pip and uv install the result.

The clients run from their own environment (``tests/support/publish_tools.py``) with a
throw-away HOME and no keyring, so no configuration or stored credential of the person
running the suite is read.
"""

from __future__ import annotations

import hashlib
import sys
import uuid
from dataclasses import dataclass
from pathlib import Path

import pytest
import requests

from jupyter_repo.demo import builders
from jupyter_repo.repository.services import packages
from tests.support import publish_tools
from tests.support.server import PASSWORD, RepoServer

BIN = Path(sys.executable).parent
UV = str(BIN / "uv")
JSON = "application/vnd.pypi.simple.v1+json"


@dataclass
class World:
    server: RepoServer
    owner: str
    token: str  # scope "upload"
    read_token: str  # scope "pypi:download"
    upload_url: str  # /pypi/<owner>/
    index_url: str  # /pypi/<owner>/simple
    tools: Path
    work: Path

    def env(self, name: str, **extra: str) -> dict[str, str]:
        return publish_tools.isolated_env(self.work / f"home-{name}", **extra)

    def files(self, project: str, index: str | None = None) -> dict[str, str]:
        """filename → sha256 of the project's page in the index (as the owner sees it)."""
        response = requests.get(
            f"{index or self.index_url}/{project}/",
            headers={"Accept": JSON, "Authorization": f"token {self.token}"},
            timeout=30,
        )
        if response.status_code == 404:
            return {}
        assert response.status_code == 200, response.text
        return {item["filename"]: item["hashes"]["sha256"] for item in response.json()["files"]}

    def twine(self, *args: str, token: str | None = None, url: str | None = None) -> str:
        result = publish_tools.run(
            [
                str(self.tools / "twine"),
                "upload",
                "--non-interactive",
                "--disable-progress-bar",
                "--repository-url",
                url or self.upload_url,
                "--username",
                "__token__",
                "--password",
                token or self.token,
                *args,
            ],
            self.env("twine"),
        )
        return _outcome(result)


def _outcome(result: object) -> str:
    """``ok`` or ``failed``, then the output (asserted on by the tests)."""
    code = result.returncode  # type: ignore[attr-defined]
    return ("ok\n" if code == 0 else "failed\n") + result.stdout + result.stderr  # type: ignore[attr-defined]


def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


@pytest.fixture(scope="module")
def world(server: RepoServer, tmp_path_factory: pytest.TempPathFactory) -> World:
    owner = server.create_user(f"pub{uuid.uuid4().hex[:8]}")
    return World(
        server,
        owner,
        server.token(owner, ["upload"]),
        server.token(owner, ["pypi:download"]),
        f"{server.url}/pypi/{owner}/",
        f"{server.url}/pypi/{owner}/simple",
        publish_tools.tools_bin(),
        tmp_path_factory.mktemp("publish"),
    )


@dataclass
class Published:
    dep: list[Path]  # pub-dep 1.0: wheel and sdist, by twine with a token
    app: list[Path]  # pub-app 2.0 (requires pub-dep): wheel and sdist, by uv with a password
    twine_output: str
    uv_output: str


@pytest.fixture(scope="module")
def published(world: World) -> Published:
    dep = [
        builders.wheel(world.work / "dep", "pub-dep", "1.0"),
        builders.sdist(world.work / "dep", "pub-dep", "1.0"),
    ]
    app = [
        builders.wheel(world.work / "app", "pub-app", "2.0", requires=["pub-dep>=1.0"]),
        builders.sdist(world.work / "app", "pub-app", "2.0"),
    ]
    twine_output = world.twine(*map(str, dep))
    uv = publish_tools.run(
        [
            UV,
            "publish",
            "--publish-url",
            world.upload_url,
            "--username",
            world.owner,
            "--password",
            PASSWORD,
            *map(str, app),
        ],
        world.env("uv"),
    )
    return Published(dep, app, twine_output, _outcome(uv))


def test_twine_uploads_a_wheel_and_an_sdist_with_a_token(
    world: World, published: Published
) -> None:
    assert published.twine_output.startswith("ok"), published.twine_output
    assert world.files("pub-dep") == {path.name: _sha256(path) for path in published.dep}


def test_uv_publish_uploads_with_a_username_and_password(
    world: World, published: Published
) -> None:
    assert published.uv_output.startswith("ok"), published.uv_output
    assert world.files("pub-app") == {path.name: _sha256(path) for path in published.app}


def test_pip_and_uv_install_what_was_published(
    world: World, published: Published, tmp_path: Path
) -> None:
    """The app needs the dependency another client uploaded; both come from the index."""
    assert published.twine_output.startswith("ok") and published.uv_output.startswith("ok")
    env = world.env("install")
    check = "import pub_app, pub_dep; print(pub_app.__version__, pub_dep.__version__)"

    pip_venv = tmp_path / "pip-venv"
    publish_tools.run([sys.executable, "-m", "venv", "--without-pip", str(pip_venv)], env)
    pip = publish_tools.run(
        [
            sys.executable,
            "-m",
            "pip",
            "--python",
            str(pip_venv / "bin" / "python"),
            "install",
            "--no-cache-dir",
            "--no-input",
            "--index-url",
            world.index_url,
            "pub-app",
        ],
        env,
    )
    assert pip.returncode == 0, pip.stdout + pip.stderr
    ran = publish_tools.run([str(pip_venv / "bin" / "python"), "-c", check], env)
    assert ran.stdout.split() == ["2.0", "1.0"], ran.stderr

    uv_venv = tmp_path / "uv-venv"
    publish_tools.run([UV, "venv", "--python", sys.executable, str(uv_venv)], env)
    uv = publish_tools.run(
        [
            UV,
            "pip",
            "install",
            "--no-cache",
            "--python",
            str(uv_venv / "bin" / "python"),
            "--index-url",
            world.index_url,
            "Pub.App",
        ],
        env,
    )
    assert uv.returncode == 0, uv.stdout + uv.stderr
    ran = publish_tools.run([str(uv_venv / "bin" / "python"), "-c", check], env)
    assert ran.stdout.split() == ["2.0", "1.0"], ran.stderr


def test_a_different_file_under_an_existing_name_is_refused_as_on_pypi(
    world: World, published: Published
) -> None:
    """twine and uv show PyPI's "File already exists"; the stored file stays as it was."""
    assert published.twine_output.startswith("ok") and published.uv_output.startswith("ok")
    before = world.files("pub-dep")
    other = builders.wheel(world.work / "other", "pub-dep", "1.0", summary="rebuilt")
    assert other.name == published.dep[0].name and _sha256(other) != before[other.name]

    twine = world.twine(str(other))
    assert twine.startswith("failed") and "409" in twine and "File already exists" in twine

    uv = publish_tools.run(
        [UV, "publish", "--publish-url", world.upload_url, "--token", world.token, str(other)],
        world.env("uv"),
    )
    assert uv.returncode != 0 and "File already exists" in uv.stderr, uv.stderr
    # uv's --check-url sees the difference before it uploads anything.
    checked = publish_tools.run(
        [
            UV,
            "publish",
            "--publish-url",
            world.upload_url,
            "--token",
            world.token,
            "--check-url",
            world.index_url,
            str(other),
        ],
        world.env("uv"),
    )
    assert checked.returncode != 0 and "do not match" in checked.stderr, checked.stderr
    assert world.files("pub-dep") == before


def test_the_same_file_again_succeeds_and_changes_nothing(
    world: World, published: Published
) -> None:
    """Retries and ``uv publish --check-url`` rely on it, as on PyPI."""
    assert published.twine_output.startswith("ok")
    page = f"{world.index_url}/pub-dep/"
    before = requests.get(page, timeout=30)
    again = world.twine(*map(str, published.dep))
    assert again.startswith("ok"), again
    checked = publish_tools.run(
        [
            UV,
            "publish",
            "--publish-url",
            world.upload_url,
            "--token",
            world.token,
            "--check-url",
            world.index_url,
            *map(str, published.dep),
        ],
        world.env("uv"),
    )
    assert checked.returncode == 0, checked.stderr
    assert "already exists, skipping" in checked.stderr
    after = requests.get(page, timeout=30)
    assert after.content == before.content and after.headers["ETag"] == before.headers["ETag"]


def test_poetry_publish_and_its_skip_existing(world: World, tmp_path: Path) -> None:
    project = tmp_path / "poetry-thing"
    dist = project / "dist"
    project.mkdir()
    (project / "pyproject.toml").write_text(
        '[project]\nname = "poetry-thing"\nversion = "1.0"\n'
        '[build-system]\nrequires = ["poetry-core>=2"]\nbuild-backend = "poetry.core.masonry.api"\n'
    )
    files = [
        builders.wheel(dist, "poetry-thing", "1.0"),
        builders.sdist(dist, "poetry-thing", "1.0"),
    ]
    env = world.env("poetry", POETRY_REPOSITORIES_REPO_URL=world.upload_url)
    publish = [
        str(world.tools / "poetry"),
        "publish",
        "--no-interaction",
        "--repository",
        "repo",
        "--username",
        "__token__",
        "--password",
        world.token,
    ]
    first = publish_tools.run(publish, env, cwd=project)
    assert first.returncode == 0, first.stdout + first.stderr
    expected = {path.name: _sha256(path) for path in files}
    assert world.files("poetry-thing") == expected

    # Rebuilt with other bytes: refused; with --skip-existing, skipped.
    builders.wheel(dist, "poetry-thing", "1.0", summary="rebuilt")
    refused = publish_tools.run(publish, env, cwd=project)
    assert refused.returncode != 0
    assert "File already exists" in refused.stdout + refused.stderr
    skipped = publish_tools.run([*publish, "--skip-existing"], env, cwd=project)
    assert skipped.returncode == 0, skipped.stdout + skipped.stderr
    assert "File exists. Skipping" in skipped.stdout + skipped.stderr
    assert world.files("poetry-thing") == expected


def test_pdm_publish_and_its_skip_existing(world: World, tmp_path: Path) -> None:
    """The README's pdm line, as shown: ``pdm publish --no-build -r URL -u __token__ -P``."""
    project = tmp_path / "pdm-thing"
    dist = project / "dist"
    project.mkdir()
    (project / "pyproject.toml").write_text(
        '[project]\nname = "pdm-thing"\nversion = "1.0"\n'
        '[build-system]\nrequires = ["pdm-backend"]\nbuild-backend = "pdm.backend"\n'
    )
    files = [builders.wheel(dist, "pdm-thing", "1.0"), builders.sdist(dist, "pdm-thing", "1.0")]
    publish = [
        str(world.tools / "pdm"),
        "publish",
        "--no-build",
        "-r",
        world.upload_url,
        "-u",
        "__token__",
        "-P",
        world.token,
    ]
    env = world.env("pdm", PDM_CHECK_UPDATE="false")
    first = publish_tools.run(publish, env, cwd=project)
    assert first.returncode == 0, first.stdout + first.stderr
    expected = {path.name: _sha256(path) for path in files}
    assert world.files("pdm-thing") == expected

    # Rebuilt with other bytes: refused; with --skip-existing, skipped and nothing changes.
    builders.wheel(dist, "pdm-thing", "1.0", summary="rebuilt")
    refused = publish_tools.run(publish, env, cwd=project)
    assert refused.returncode != 0
    assert "File already exists" in refused.stdout + refused.stderr
    skipped = publish_tools.run([*publish, "--skip-existing"], env, cwd=project)
    assert skipped.returncode == 0, skipped.stdout + skipped.stderr
    assert world.files("pdm-thing") == expected


def test_hatch_publish_finds_files_already_there(world: World) -> None:
    """hatch looks for existing files on the index's devpi-style ``+simple/`` page."""
    wheel = builders.wheel(world.work / "hatch", "hatch-thing", "1.0")
    command = [
        str(world.tools / "hatch"),
        "publish",
        "--no-prompt",
        "--repo",
        world.upload_url,
        "--user",
        "__token__",
        "--auth",
        world.token,
        str(wheel),
    ]
    first = publish_tools.run(command, world.env("hatch"), cwd=world.work)
    assert first.returncode == 0, first.stdout + first.stderr
    assert "success" in first.stdout + first.stderr
    assert world.files("hatch-thing") == {wheel.name: _sha256(wheel)}
    again = publish_tools.run(command, world.env("hatch"), cwd=world.work)
    assert again.returncode == 0, again.stdout + again.stderr
    assert "already exists" in again.stdout + again.stderr


def test_a_read_only_token_is_refused_with_403(world: World) -> None:
    wheel = builders.wheel(world.work / "ro", "read-only-try", "1.0")
    refused = world.twine(str(wheel), token=world.read_token)
    assert refused.startswith("failed") and "403" in refused, refused
    assert "scopes do not allow uploads" in refused
    assert world.files("read-only-try") == {}


def test_an_upload_onto_a_label_appears_only_on_that_labels_index(world: World) -> None:
    wheel = builders.wheel(world.work / "beta", "beta-thing", "0.1")
    label_url = f"{world.server.url}/pypi/{world.owner}/label/beta/"
    uploaded = world.twine(str(wheel), url=label_url)
    assert uploaded.startswith("ok"), uploaded
    assert world.files("beta-thing", index=label_url + "simple") == {wheel.name: _sha256(wheel)}
    assert world.files("beta-thing") == {}
    listing = requests.get(world.index_url + "/", timeout=30).text
    assert "beta-thing" not in listing


def test_uv_lock_records_no_credentials_with_basic_auth_from_the_environment(
    world: World, published: Published, tmp_path: Path
) -> None:
    """The README's configuration: the index URL has no token; uv takes the credentials from
    UV_INDEX_<NAME>_USERNAME/PASSWORD, and uv.lock records plain URLs."""
    assert published.uv_output.startswith("ok")
    world.server.call(
        packages.set_visibility, world.server.actor(world.owner), world.owner, "pub-app", False
    )
    try:
        project = tmp_path / "locked"
        project.mkdir()
        (project / "pyproject.toml").write_text(
            '[project]\nname = "locked"\nversion = "0"\nrequires-python = ">=3.8"\n'
            'dependencies = ["pub-app"]\n\n'
            f'[[tool.uv.index]]\nname = "team"\nurl = "{world.index_url}"\ndefault = true\n'
        )
        env = world.env(
            "lock",
            UV_INDEX_TEAM_USERNAME="__token__",
            UV_INDEX_TEAM_PASSWORD=world.read_token,
        )
        del env["UV_NO_CONFIG"]  # it would hide the project's [tool.uv] too (HOME is empty)
        locked = publish_tools.run([UV, "lock", "--no-cache"], env, cwd=project)
        assert locked.returncode == 0, locked.stderr
        lock = (project / "uv.lock").read_text()
        assert f"{world.index_url}/pub-app/pub_app-2.0-py3-none-any.whl" in lock
        assert world.read_token not in lock and "__token__" not in lock
        # Without the credentials the private project cannot be locked: they were needed.
        env.pop("UV_INDEX_TEAM_PASSWORD")
        (project / "uv.lock").unlink()
        refused = publish_tools.run([UV, "lock", "--no-cache"], env, cwd=project)
        assert refused.returncode != 0
    finally:
        world.server.call(
            packages.set_visibility, world.server.actor(world.owner), world.owner, "pub-app", True
        )


def test_the_same_file_onto_another_label_gets_that_label(
    world: World, published: Published
) -> None:
    """Publishing a release again onto a label (the same bytes) puts it on that label."""
    assert published.twine_output.startswith("ok")
    label_url = f"{world.server.url}/pypi/{world.owner}/label/rc/"
    before = world.files("pub-dep")
    uploaded = world.twine(str(published.dep[0]), url=label_url)
    assert uploaded.startswith("ok"), uploaded
    wheel = published.dep[0]
    assert world.files("pub-dep", index=label_url + "simple") == {wheel.name: _sha256(wheel)}
    assert world.files("pub-dep") == before
