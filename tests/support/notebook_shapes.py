"""Notebooks that are expensive to render (security review, issue 15, finding 3).

Each shape puts about ``size`` bytes where one part of the rendering pipeline
(nbformat's validation, nbconvert's filters, pygments, mistune, nh3) spends the most time
or memory on it. Used by tests/security/test_security_render.py and bench/render_shapes.py.
"""

from __future__ import annotations

import base64
import json
import os
from collections.abc import Callable
from typing import Any

import nbformat
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook, new_output


def _notebook(cells: list[Any]) -> dict[str, Any]:
    notebook = new_notebook(
        cells=cells,
        metadata={
            "kernelspec": {"name": "python3", "display_name": "Python 3", "language": "python"}
        },
    )
    return json.loads(nbformat.writes(notebook))


def huge_source(size: int) -> dict[str, Any]:
    """One code cell of ``size`` bytes of Python: pygments highlights every token."""
    line = "values = [compute(x, y=1.5, name='z') for x in range(10)]  # comment\n"
    return _notebook([new_code_cell(line * (size // len(line)))])


def huge_source_line(size: int) -> dict[str, Any]:
    """One code cell whose source is a single line of ``size`` bytes."""
    return _notebook([new_code_cell("x = [" + "1, " * (size // 3) + "]")])


def huge_stream(size: int) -> dict[str, Any]:
    """One code cell printing ``size`` bytes of text with ANSI colours."""
    line = "\x1b[31mERROR\x1b[0m step <done> & \x1b[1;32mok\x1b[0m value=42\n"
    text = line * (size // len(line))
    return _notebook(
        [new_code_cell("run()", outputs=[new_output("stream", name="stdout", text=text)])]
    )


def many_outputs(size: int) -> dict[str, Any]:
    """One code cell with one small output per ~100 bytes."""
    count = size // 100
    return _notebook(
        [
            new_code_cell(
                "loop()",
                outputs=[
                    new_output("stream", name="stdout", text=f"line {i}\n") for i in range(count)
                ],
            )
        ]
    )


def huge_html(size: int) -> dict[str, Any]:
    """One code cell with a text/html output of ``size`` bytes of table: nh3 parses it."""
    row = "<tr><td style='color: red'>1</td><td class='x'>2</td><td>3</td></tr>"
    html = "<table>" + row * (size // len(row)) + "</table>"
    return _notebook(
        [
            new_code_cell(
                "df",
                outputs=[
                    new_output(
                        "execute_result",
                        data={"text/html": html, "text/plain": "df"},
                        execution_count=1,
                    )
                ],
                execution_count=1,
            )
        ]
    )


def huge_image(size: int) -> dict[str, Any]:
    """One code cell with a base64 PNG of ``size`` bytes (random bytes, never decoded)."""
    data = base64.b64encode(os.urandom(size * 3 // 4)).decode()
    return _notebook(
        [
            new_code_cell(
                "plot()",
                outputs=[
                    new_output("display_data", data={"image/png": data, "text/plain": "<Figure>"})
                ],
            )
        ]
    )


def nested_markdown(size: int) -> dict[str, Any]:
    """One markdown cell of deeply nested block quotes and lists."""
    quotes = "> " * (size // 4) + "deep\n\n"
    depth = int((size // 2) ** 0.5)  # indentation grows by 2 per level: about size // 2 bytes
    lists = "".join("  " * level + "- item\n" for level in range(depth))
    return _notebook([new_markdown_cell(quotes + lists)])


def markdown_emphasis(size: int) -> dict[str, Any]:
    """One markdown cell of unclosed emphasis and link brackets (parser back-tracking)."""
    return _notebook([new_markdown_cell("*a **b [c _d `e " * (size // 16))])


def many_cells(size: int) -> dict[str, Any]:
    """One tiny code cell per ~120 bytes of notebook."""
    return _notebook([new_code_cell(f"x = {i}") for i in range(size // 120)])


def metadata_objects(size: int) -> dict[str, Any]:
    """One code cell whose metadata is a list of ``size // 3`` empty objects: each becomes
    a Python dict (then a NotebookNode, then a copy), so memory grows ~100x the bytes."""
    return _notebook([new_code_cell("x = 1", metadata={"tags": [], "data": [{}] * (size // 3)})])


SHAPES: dict[str, Callable[[int], dict[str, Any]]] = {
    "huge_source": huge_source,
    "huge_source_line": huge_source_line,
    "huge_stream": huge_stream,
    "many_outputs": many_outputs,
    "huge_html": huge_html,
    "huge_image": huge_image,
    "nested_markdown": nested_markdown,
    "markdown_emphasis": markdown_emphasis,
    "many_cells": many_cells,
    "metadata_objects": metadata_objects,
}


def notebook_bytes(shape: str, size: int) -> bytes:
    return json.dumps(SHAPES[shape](size)).encode()
