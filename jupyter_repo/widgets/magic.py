"""The ``%repo QUERY`` line magic: ``%load_ext jupyter_repo.widgets``, then ``%repo numpy``
shows a :class:`~jupyter_repo.widgets.search.PackageSearch` for that query."""

from __future__ import annotations

from typing import Any

from jupyter_repo.widgets.search import PackageSearch, search


def repo(line: str = "") -> PackageSearch:
    """%repo [QUERY] — search the repository and install into this kernel."""
    return search(line.strip())


def load_ipython_extension(ipython: Any) -> None:
    """Register ``%repo`` (called by ``%load_ext jupyter_repo.widgets``)."""
    ipython.register_magic_function(repo, magic_kind="line", magic_name="repo")
