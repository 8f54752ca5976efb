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


@pytest.fixture(scope="session")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RepoServer]:
    """The session's repository server (tests use unique names, so they can share it)."""
    instance = RepoServer(tmp_path_factory.mktemp("server"))
    instance.start()
    yield instance
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
