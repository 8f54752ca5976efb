"""Fixtures shared by the whole suite: one repository server per session, sample files."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support.anaconda import AnacondaCLI
from tests.support.server import RepoServer

ARTIFACTS = Path(__file__).resolve().parent.parent / "test-artifacts"


@pytest.fixture(scope="session")
def artifacts_dir() -> Path:
    ARTIFACTS.mkdir(exist_ok=True)
    return ARTIFACTS


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption(
        "--tier", choices=("embedded", "scaleout"),
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


def pytest_configure(config: pytest.Config) -> None:
    os.environ.setdefault("OTEL_SDK_DISABLED", "true")
