"""``docs/security.md`` matches the code: every configurable limit it names exists, with the
default it states."""

from __future__ import annotations

import json
import re
from typing import Any

import pytest

from jupyter_repo.commands.bundle import ImportApp
from jupyter_repo.commands.serve import ServeApp
from jupyter_repo.extension.app import RepoExtension
from jupyter_repo.mirroring.proxy import Proxies
from jupyter_repo.repository.core import Repository
from jupyter_repo.repository.indexes.channels import ChannelIndexes
from jupyter_repo.server.jupyterhub import JupyterHubService
from jupyter_repo.server.web.previews import NotebookPreviews
from tests.support.paths import ROOT

DOC = ROOT / "docs" / "security.md"
CLASSES: dict[str, Any] = {
    "Repository": Repository,
    "ServeApp": ServeApp,
    "NotebookPreviews": NotebookPreviews,
    "RepoExtension": RepoExtension,
    "Proxies": Proxies,
    "ImportApp": ImportApp,
    "JupyterHubService": JupyterHubService,
    "ChannelIndexes": ChannelIndexes,
}
UNITS = {
    "GiB": 1 << 30,
    "MiB": 1 << 20,
    "KiB": 1 << 10,
    "Mi": 1 << 20,
    "s": 1,
    "days": 86400,
    "day": 86400,
    "years": 365 * 86400,
    "year": 365 * 86400,
}
SETTING = re.compile(r"`(\w+)\.(\w+)`|/ `(\w+)`")


def documented_limits() -> list[tuple[str, str, str]]:
    """(class, trait, documented default) for each setting of the limits table."""
    rows = []
    text = DOC.read_text()
    table = text[text.index("## Limits") :]
    for line in table.splitlines():
        cells = [cell.strip() for cell in line.strip().strip("|").split("|")]
        if len(cells) < 3 or "`" not in cells[0]:
            continue
        owner = None
        names: list[tuple[str, str]] = []
        for match in SETTING.finditer(cells[0]):
            if match[1] in CLASSES:
                owner = match[1]
                names.append((owner, match[2]))
            elif match[3] and owner:
                names.append((owner, match[3]))
        defaults = [part.strip() for part in cells[1].split(" / ")]
        for index, (owner, trait) in enumerate(names):
            rows.append((owner, trait, defaults[min(index, len(defaults) - 1)]))
    return rows


def value_of(text: str) -> Any:
    """The number a default like ``10 GiB``, ``3,600 s`` or ``14 days`` stands for."""
    text = text.strip("`")
    if text in ("True", "False"):
        return text == "True"
    if text.startswith("["):
        return json.loads(text[: text.index("]") + 1])
    match = re.match(r"([\d,.]+)\s*([A-Za-z]+)?", text)
    assert match, f"cannot read the default {text!r}"
    number = float(match[1].replace(",", ""))
    unit = UNITS.get(match[2] or "", 1)
    return int(number * unit)


LIMITS = documented_limits()


def test_the_limits_table_names_settings() -> None:
    assert len(LIMITS) >= 20, LIMITS
    assert {owner for owner, _, _ in LIMITS} == set(CLASSES)


@pytest.mark.parametrize(
    ("owner", "trait", "documented"), LIMITS, ids=[f"{owner}.{trait}" for owner, trait, _ in LIMITS]
)
def test_a_documented_limit_has_its_documented_default(
    owner: str, trait: str, documented: str
) -> None:
    cls = CLASSES[owner]
    assert cls.class_traits().get(trait) is not None, f"{owner}.{trait} does not exist"
    default = cls.class_traits()[trait].default()
    assert value_of(documented) == default, (owner, trait, documented, default)
