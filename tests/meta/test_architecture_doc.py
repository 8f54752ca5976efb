"""docs/architecture.md must stay true: every module it names exists, and every
sub-package of jupyter_repo is described."""

from __future__ import annotations

import re

import pytest

from tests.support.paths import ROOT

DOC = (ROOT / "docs" / "architecture.md").read_text()


def test_named_paths_exist() -> None:
    current = ""
    missing = []
    for line in DOC.splitlines():
        heading = re.match(r"^(jupyter_repo/[\w/]+/)", line)
        if heading:
            current = heading.group(1)
            continue
        entry = re.match(r"^\s{3}(\w[\w/]*(?:\.py|/))(?:,\s*(\w+\.py))?\s", line + " ")
        if current and entry:
            for name in filter(None, entry.groups()):
                if not (ROOT / current / name).exists():
                    missing.append(current + name)
    assert not missing, f"docs/architecture.md names missing paths: {missing}"


SUBPACKAGES = sorted(
    child.name
    for child in (ROOT / "jupyter_repo").iterdir()
    if child.is_dir() and (child / "__init__.py").exists()
)


def test_there_are_subpackages_to_describe() -> None:
    assert len(SUBPACKAGES) >= 5, SUBPACKAGES


@pytest.mark.parametrize("name", SUBPACKAGES)
def test_every_subpackage_is_described(name: str) -> None:
    assert f"jupyter_repo/{name}/" in DOC, f"{name} is not described"
