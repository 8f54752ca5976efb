"""What changed between two versions of a notebook, on its page: cells added, removed and
changed (source and outputs) as nbdime finds them, sanitised like notebooks, linked from
the versions list; private notebooks are 'not found' to outsiders."""

from __future__ import annotations

import copy
import json
import re
import time
import uuid
from pathlib import Path
from typing import Any

import pytest
import requests
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook, new_output

from jupyter_repo.repository.services import packages
from tests.support.hostile import hostile_notebook
from tests.support.server import RepoServer
from tests.support.web import active_content, upload

BEACON = "http://127.0.0.1:9/beacon"
SOURCE = "import math\nvalues = [1, 2, 3]\ntotal = sum(v * v for v in values)\nprint(total)\n"


def _notebook(cells: list[Any]) -> dict[str, Any]:
    notebook = new_notebook(cells=cells)
    notebook["metadata"]["kernelspec"] = {"name": "python3", "display_name": "Python 3"}
    return dict(notebook)


def first_version() -> dict[str, Any]:
    return _notebook(
        [
            new_markdown_cell("# Growth study\n\nKept as it is.", id="intro"),
            new_code_cell(
                SOURCE, id="compute", outputs=[new_output("stream", text="14\n")], execution_count=1
            ),
            new_code_cell("retired_helper = lambda x: x  # soon gone", id="helper"),
            new_markdown_cell("## Conclusions stay", id="outro"),
        ]
    )


def second_version() -> dict[str, Any]:
    return _notebook(
        [
            new_markdown_cell("# Growth study\n\nKept as it is.", id="intro"),
            new_code_cell(
                SOURCE.replace("v * v", "v ** 3"),
                id="compute",
                outputs=[new_output("stream", text="36\n")],
                execution_count=2,
            ),
            new_markdown_cell("## Conclusions stay", id="outro"),
            new_code_cell("brand_new_cell = 'appended in 2'", id="appended"),
        ]
    )


def _upload(
    server: RepoServer,
    token: str,
    owner: str,
    package: str,
    version: str,
    notebook: dict[str, Any],
    folder: Path,
) -> None:
    path = folder / version / "analysis.ipynb"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(notebook))
    upload(server, token, owner, package, version, path)


def _diff_page(server: RepoServer, path: str, **kwargs: Any) -> requests.Response:
    """The diff page once computed (it says "being computed" and reloads meanwhile)."""
    deadline = time.monotonic() + 90
    while True:
        response = requests.get(server.url + path, timeout=60, **kwargs)
        if response.status_code != 200 or "Refresh" not in response.headers:
            return response
        assert time.monotonic() < deadline, "the diff was never computed"
        time.sleep(0.5)


@pytest.fixture(scope="module")
def versions(server: RepoServer, tmp_path_factory: pytest.TempPathFactory) -> str:
    owner = server.create_user(f"differ{uuid.uuid4().hex[:8]}")
    token = server.token(owner)
    folder = tmp_path_factory.mktemp("diff")
    _upload(server, token, owner, "study", "1", first_version(), folder)
    _upload(server, token, owner, "study", "2", second_version(), folder)
    hostile = hostile_notebook(BEACON)
    _upload(server, token, owner, "study", "3", hostile, folder)
    return owner


def test_the_versions_list_links_to_the_changes(server: RepoServer, versions: str) -> None:
    html = requests.get(f"{server.url}/{versions}/study", timeout=30).text
    assert f'href="/{versions}/study/diff/1/2">changes since 1</a>' in html
    assert f'href="/{versions}/study/diff/2/3">changes since 2</a>' in html


def test_the_diff_shows_added_removed_and_changed_cells(server: RepoServer, versions: str) -> None:
    response = _diff_page(server, f"/{versions}/study/diff/1/2")
    assert response.status_code == 200
    assert "script-src 'none'" in response.headers["Content-Security-Policy"]
    html = response.text
    assert "1 added</span>, " in html and "1 removed</span>, " in html
    assert "1 changed</span> cells" in html
    cells = re.findall(r'<div class="diff-cell diff-cell-(\w+)">(.*?)</div>', html, re.S)
    kinds = [kind for kind, _ in cells]
    assert kinds == ["changed", "removed", "added"]
    changed, removed, added = (body for _, body in cells)
    assert "(execution count, outputs, source)" in changed  # what nbdime found changed in the cell
    assert '<del class="diff-line diff-removed">- total = sum(v * v for v in values)' in changed
    assert '<ins class="diff-line diff-added">+ total = sum(v ** 3 for v in values)' in changed
    assert '<del class="diff-line diff-removed">- 14' in changed  # the outputs too
    assert '<ins class="diff-line diff-added">+ 36' in changed
    assert '<span class="diff-line diff-same">  import math' in changed
    assert "retired_helper" in removed and "<del" in removed
    assert "brand_new_cell" in added and "<ins" in added
    assert html.count('class="diff-unchanged"') == 2  # the title and the conclusions
    assert active_content(html) == []


def test_a_hostile_notebook_stays_inert_in_the_diff(server: RepoServer, versions: str) -> None:
    html = _diff_page(server, f"/{versions}/study/diff/2/3").text
    assert active_content(html) == []
    assert "&lt;script" in html  # shown as text, not run
    assert "diff-cell-added" in html


def test_versions_without_a_notebook_are_not_found(server: RepoServer, versions: str) -> None:
    response = requests.get(f"{server.url}/{versions}/study/diff/1/9", timeout=30)
    assert response.status_code == 404


def test_a_private_notebook_diff_is_not_found_to_outsiders(
    server: RepoServer, tmp_path: Path
) -> None:
    owner = server.create_user(f"privdiff{uuid.uuid4().hex[:8]}")
    stranger = server.create_user(f"strdiff{uuid.uuid4().hex[:8]}")
    token = server.token(owner)
    _upload(server, token, owner, "secret-study", "1", first_version(), tmp_path)
    _upload(server, token, owner, "secret-study", "2", second_version(), tmp_path)
    server.call(packages.set_visibility, server.actor(owner), owner, "secret-study", False)
    for headers in ({}, {"Authorization": f"token {server.token(stranger)}"}):
        hidden = requests.get(
            f"{server.url}/{owner}/secret-study/diff/1/2", headers=headers, timeout=30
        )
        missing = requests.get(
            f"{server.url}/{owner}/no-such-study/diff/1/2", headers=headers, timeout=30
        )
        assert hidden.status_code == missing.status_code == 404
        assert "retired_helper" not in hidden.text and "secret-study" not in hidden.text
        assert hidden.text.replace("secret-study", "X") == missing.text.replace(
            "no-such-study", "X"
        )
    mine = _diff_page(
        server,
        f"/{owner}/secret-study/diff/1/2",
        headers={"Authorization": f"token {token}"},
    )
    assert mine.status_code == 200 and "brand_new_cell" in mine.text


def test_unchanged_notebooks_show_no_changed_cells(server: RepoServer, versions: str) -> None:
    html = _diff_page(server, f"/{versions}/study/diff/1/1").text
    assert "0 added</span>, " in html and "0 changed</span> cells" in html
    assert "diff-cell-" not in html.replace("diff-cell-heading", "")


def test_the_same_cells_with_new_ids_are_unchanged() -> None:
    from jupyter_repo.server.web.notebook_diff import cell_changes

    old = first_version()
    new = copy.deepcopy(old)
    for cell in new["cells"]:
        cell["id"] = cell["id"] + "-renamed"
    assert [row.kind for row in cell_changes(old, new)] == ["unchanged"] * 4
