"""docs/architecture.md must stay true: every module it names exists, and every
sub-package of jupyter_repo is described."""

from __future__ import annotations

import re

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


def test_every_subpackage_is_described() -> None:
    package = ROOT / "jupyter_repo"
    for child in sorted(package.iterdir()):
        if child.is_dir() and (child / "__init__.py").exists():
            assert f"jupyter_repo/{child.name}/" in DOC, f"{child.name} is not described"
