"""Fixtures shared by the whole suite: one repository server per session, sample files."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from hypothesis import settings

from tests.support import fuzzing
from tests.support.anaconda import AnacondaCLI
from tests.support.lab import chromium, lab_page
from tests.support.server import RepoServer
from tests.support.services import PostgreSQL

ARTIFACTS = Path(__file__).resolve().parent.parent / "test-artifacts"

# `--hypothesis-profile=quick` (the quick lane): each fuzz test a tenth of its budget.
settings.register_profile(fuzzing.QUICK)


@pytest.fixture(scope="session")
def artifacts_dir() -> Path:
    ARTIFACTS.mkdir(exist_ok=True)
    return ARTIFACTS


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption(
        "--tier",
        choices=("embedded", "scaleout"),
        default=os.environ.get("JUPYTER_REPO_TEST_TIER", "embedded"),
        help="embedded: SQLite + local folder, one process; scaleout: PostgreSQL + Swift "
        "(S3) + two server processes behind nginx.",
    )


@pytest.fixture(scope="session")
def tier(request: pytest.FixtureRequest) -> str:
    return request.config.getoption("--tier")


@pytest.fixture(scope="session")
def server(tmp_path_factory: pytest.TempPathFactory, tier: str) -> Iterator[RepoServer]:
    """The session's repository (tests use unique names, so they can share it)."""
    if tier == "scaleout":
        from tests.support.scaleout import ScaledRepo

        instance: RepoServer = ScaledRepo(tmp_path_factory.mktemp("scaleout"))
    else:
        instance = RepoServer(tmp_path_factory.mktemp("server"))
    try:
        instance.start()
        yield instance
    finally:
        instance.close()


@pytest.fixture(scope="session")
def postgres() -> Iterator[PostgreSQL]:
    """One PostgreSQL server for the tests that run on both databases; started on first use."""
    server = PostgreSQL().start()
    yield server
    server.stop()


@pytest.fixture(params=["sqlite", "postgresql"])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """An empty database of each kind (a fresh PostgreSQL database per test)."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'repo.db'}"
    postgres: PostgreSQL = request.getfixturevalue("postgres")
    return postgres.create_database(f"test_{uuid.uuid4().hex[:8]}")


@pytest.fixture
def unique() -> str:
    """A short unique suffix for names, so tests sharing a server never collide."""
    return uuid.uuid4().hex[:8]


@pytest.fixture
def user(server: RepoServer, unique: str) -> str:
    return server.create_user(f"u{unique}")


@pytest.fixture
def anaconda(server: RepoServer, tmp_path: Path) -> AnacondaCLI:
    return AnacondaCLI(tmp_path / "anaconda", server.api)


@pytest.fixture
def samples(tmp_path: Path) -> Path:
    directory = tmp_path / "samples"
    directory.mkdir()
    return directory


# The tests that drive JupyterLab in Chromium: each such module defines its own ``lab``
# fixture (a LabServer on the session's repository) and gets these.


@pytest.fixture(scope="module")
def lab_user(server: RepoServer) -> str:
    return server.create_user(f"lab{uuid.uuid4().hex[:8]}")


@pytest.fixture(scope="module")
def lab_token(server: RepoServer, lab_user: str) -> str:
    return server.token(lab_user)


@pytest.fixture(scope="module")
def browser() -> Iterator[object]:
    with chromium() as instance:
        yield instance


@pytest.fixture
def page(browser, lab, artifacts_dir: Path, request: pytest.FixtureRequest):  # type: ignore[no-untyped-def]
    """A tab of its own; its last state is kept as test-artifacts/lab-<test>-last.png."""
    with lab_page(browser, artifacts_dir / f"lab-{request.node.name}-last.png") as tab:
        yield tab


def pytest_configure(config: pytest.Config) -> None:
    os.environ.setdefault("OTEL_SDK_DISABLED", "true")
    if "PYTEST_XDIST_WORKER" in os.environ:
        # pytest-xdist's workers (the quick lane) get COLUMNS=80 and LINES=24, and the CLIs
        # the tests run (uv, rich) would wrap their messages as they never do in a serial run.
        for name in ("COLUMNS", "LINES"):
            os.environ.pop(name, None)
