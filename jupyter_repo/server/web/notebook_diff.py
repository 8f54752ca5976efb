"""What changed between two versions of a notebook, as sanitised HTML.

nbdime (the field's notebook diff) decides which cells were added, removed or changed and
what changed in a changed cell (source, outputs, metadata); this module only shows its
answer: cell sources as text with their changed lines marked, outputs as text (images as
their type), unchanged runs of cells folded into one line. Nothing of a notebook is
rendered as HTML or Markdown here, and the whole result still passes through
:func:`sanitize.sanitize` like a rendered notebook.

Like rendering, diffing takes time and memory that grow with the notebooks (nbdime compares
cells pairwise), so it runs in the render worker processes under their time and memory
limits, after both notebooks are measured against the preview :class:`Budget`.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterator
from dataclasses import dataclass, field
from functools import cache
from html import escape
from importlib.metadata import version
from typing import Any

from jupyter_repo.repository.inspect.notebook import read_notebook
from jupyter_repo.server.web.notebooks import Budget, check_budget
from jupyter_repo.server.web.sanitize import sanitize

#: Bump when the diff's HTML or its rules change: cached diffs are then redone.
DIFF_REVISION = 1
#: Characters of one output shown (the rest is cut, with a note).
MAX_OUTPUT_CHARS = 5_000
#: Keys of a cell whose changes alone do not make it "changed" (a new id is not an edit).
IGNORED_KEYS = {"id"}


@cache
def diff_renderer_id() -> str:
    return f"notebook-diff-{DIFF_REVISION}/nbdime-{version('nbdime')}/nh3-{version('nh3')}"


@dataclass
class CellChange:
    """One row of the diff: ``kind`` is added, removed, changed or unchanged."""

    kind: str
    old: dict[str, Any] | None
    new: dict[str, Any] | None
    old_index: int | None = None
    new_index: int | None = None
    changed_keys: set[str] = field(default_factory=set)


def _text(value: Any) -> str:
    if isinstance(value, list):
        return "".join(str(item) for item in value)
    return "" if value is None else str(value)


def cell_changes(old_nb: dict[str, Any], new_nb: dict[str, Any]) -> list[CellChange]:
    """The cells of both notebooks in order, each marked as nbdime's diff says."""
    from nbdime import diff_notebooks

    old_cells = list(old_nb.get("cells", []))
    new_cells = list(new_nb.get("cells", []))
    ops: list[Any] = []
    for entry in diff_notebooks(old_nb, new_nb):
        if entry["key"] == "cells":
            ops = list(entry["diff"])
    by_key: dict[int, list[Any]] = {}
    for op in ops:
        by_key.setdefault(int(op["key"]), []).append(op)
    rows: list[CellChange] = []
    new_index = 0
    old_index = 0
    while old_index <= len(old_cells):
        here = by_key.get(old_index, [])
        for op in here:  # insertions come before the base cell at the same key
            if op["op"] == "addrange":
                for _ in op["valuelist"]:
                    rows.append(CellChange("added", None, new_cells[new_index], None, new_index))
                    new_index += 1
        if old_index == len(old_cells):
            break
        removed = next((op for op in here if op["op"] == "removerange"), None)
        if removed is not None:
            for offset in range(int(removed["length"])):
                rows.append(
                    CellChange("removed", old_cells[old_index + offset], None, old_index + offset)
                )
            old_index += int(removed["length"])
            continue
        patch = next((op for op in here if op["op"] == "patch"), None)
        keys = {str(item["key"]) for item in patch["diff"]} - IGNORED_KEYS if patch else set()
        rows.append(
            CellChange(
                "changed" if keys else "unchanged",
                old_cells[old_index],
                new_cells[new_index],
                old_index,
                new_index,
                keys,
            )
        )
        old_index += 1
        new_index += 1
    return rows


def _lines(kind: str, text: str) -> str:
    marks = {"added": "+", "removed": "-", "same": " "}
    tag = {"added": "ins", "removed": "del", "same": "span"}[kind]
    return "".join(
        f'<{tag} class="diff-line diff-{kind}">{marks[kind]} {escape(line)}\n</{tag}>'
        for line in text.splitlines()
    )


def _source_diff(old: str, new: str) -> str:
    """The source with removed and added lines marked (line pairing by difflib)."""
    parts: list[str] = []
    matcher = difflib.SequenceMatcher(a=old.splitlines(), b=new.splitlines(), autojunk=False)
    old_lines, new_lines = old.splitlines(), new.splitlines()
    for tag, i1, i2, j1, j2 in matcher.get_opcodes():
        if tag == "equal":
            parts.append(_lines("same", "\n".join(old_lines[i1:i2])))
        else:
            parts.append(_lines("removed", "\n".join(old_lines[i1:i2])))
            parts.append(_lines("added", "\n".join(new_lines[j1:j2])))
    return "".join(parts)


def _output_text(output: dict[str, Any]) -> str:
    kind = output.get("output_type")
    if kind == "stream":
        text = _text(output.get("text"))
    elif kind == "error":
        text = f"{_text(output.get('ename'))}: {_text(output.get('evalue'))}"
    else:
        data = output.get("data") or {}
        if "text/plain" in data:
            text = _text(data["text/plain"])
        else:
            text = "[" + ", ".join(sorted(str(key) for key in data)) + "]"
    if len(text) > MAX_OUTPUT_CHARS:
        text = text[:MAX_OUTPUT_CHARS] + f"\n… ({len(text) - MAX_OUTPUT_CHARS:,} more characters)"
    return text


def _outputs(cell: dict[str, Any] | None) -> str:
    outputs = (cell or {}).get("outputs") or []
    return "\n".join(_output_text(output) for output in outputs)


def _cell_html(row: CellChange) -> Iterator[str]:
    cell = row.new if row.new is not None else row.old
    assert cell is not None
    cell_type = escape(str(cell.get("cell_type", "cell")))
    where = []
    if row.old_index is not None:
        where.append(f"cell {row.old_index + 1} before")
    if row.new_index is not None:
        where.append(f"cell {row.new_index + 1} now")
    what = {
        "added": "Added",
        "removed": "Removed",
        "changed": "Changed",
    }[row.kind]
    detail = ""
    if row.kind == "changed":
        words = sorted(key.replace("_", " ") for key in row.changed_keys)
        detail = " (" + ", ".join(escape(word) for word in words) + ")"
    yield f'<div class="diff-cell diff-cell-{row.kind}">'
    yield (
        f'<p class="diff-cell-heading"><strong>{what}</strong> {cell_type} cell'
        f'{detail} <span class="subtle">{escape(", ".join(where))}</span></p>'
    )
    old_source, new_source = (
        _text((row.old or {}).get("source")),
        _text((row.new or {}).get("source")),
    )
    if row.kind == "added":
        source = _lines("added", new_source)
    elif row.kind == "removed":
        source = _lines("removed", old_source)
    else:
        source = _source_diff(old_source, new_source)
    yield f'<pre class="diff-source">{source}</pre>'
    old_out, new_out = _outputs(row.old), _outputs(row.new)
    if row.kind == "changed" and "outputs" in row.changed_keys:
        yield '<p class="diff-outputs-heading">Outputs</p>'
        yield f'<pre class="diff-outputs">{_source_diff(old_out, new_out)}</pre>'
    elif row.kind == "added" and new_out:
        yield f'<pre class="diff-outputs">{_lines("added", new_out)}</pre>'
    elif row.kind == "removed" and old_out:
        yield f'<pre class="diff-outputs">{_lines("removed", old_out)}</pre>'
    yield "</div>"


def diff_html(rows: list[CellChange]) -> str:
    counts = {kind: sum(1 for row in rows if row.kind == kind) for kind in ("added", "removed")}
    counts["changed"] = sum(1 for row in rows if row.kind == "changed")
    parts = [
        '<p class="diff-summary">'
        f'<span class="diff-count-added">{counts["added"]} added</span>, '
        f'<span class="diff-count-removed">{counts["removed"]} removed</span>, '
        f'<span class="diff-count-changed">{counts["changed"]} changed</span> cells.</p>'
    ]
    unchanged = 0
    for row in [*rows, None]:
        if row is not None and row.kind == "unchanged":
            unchanged += 1
            continue
        if unchanged:
            plural = "s" if unchanged > 1 else ""
            parts.append(f'<p class="diff-unchanged">{unchanged} unchanged cell{plural}</p>')
            unchanged = 0
        if row is not None:
            parts.extend(_cell_html(row))
    return "".join(parts)


def render_diff(
    old: bytes, new: bytes, budget: Budget | None = None, filenames: tuple[str, str] = ("", "")
) -> str:
    """Two notebooks' bytes in, sanitised HTML of what changed out. Blocking, slow."""
    budget = budget or Budget()
    old_nb = read_notebook(old, filenames[0] or "the older notebook")
    new_nb = read_notebook(new, filenames[1] or "the newer notebook")
    check_budget(old_nb, budget)
    check_budget(new_nb, budget)
    return sanitize(diff_html(cell_changes(old_nb, new_nb)))
