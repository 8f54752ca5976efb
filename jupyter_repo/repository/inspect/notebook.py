"""Notebooks (``.ipynb``): validated with nbformat; kernel, language, title and summary."""

from __future__ import annotations

import re
from pathlib import Path
from typing import TYPE_CHECKING, Any

from jupyter_repo import bounded_json
from jupyter_repo.repository.errors import InvalidInput, TooLarge
from jupyter_repo.repository.inspect.base import Inspection, Limits, text

if TYPE_CHECKING:
    from nbformat import NotebookNode

_HEADING = re.compile(r"^\s{0,3}#{1,6}\s+(.+?)\s*#*\s*$")


#: Nesting limit of a notebook's JSON (the cells' outputs hold documents of their own).
NOTEBOOK_MAX_DEPTH = 100


def inspect(path: Path, filename: str, limits: Limits) -> Inspection:
    if path.stat().st_size > limits.max_parse_bytes:
        raise TooLarge(
            f"The notebook is larger than the limit of {limits.max_parse_bytes} bytes "
            "for notebooks."
        )
    notebook = read_notebook(path.read_bytes(), filename)
    metadata = notebook.get("metadata", {})
    kernelspec = metadata.get("kernelspec") or {}
    language_info = metadata.get("language_info") or {}
    title, summary = title_and_summary(notebook)
    cells = notebook.get("cells", [])
    publish_info = metadata.get("jupyter_repo") or {}
    attrs: dict[str, Any] = {
        "nbformat": notebook.get("nbformat"),
        "nbformat_minor": notebook.get("nbformat_minor"),
        "kernel_name": text(kernelspec.get("name"), 200),
        "kernel_display_name": text(kernelspec.get("display_name"), 200),
        "language": text(kernelspec.get("language") or language_info.get("name"), 100),
        "language_version": text(language_info.get("version"), 50),
        "title": title,
        "summary": summary,
        "cells": len(cells),
        "code_cells": sum(1 for cell in cells if cell.get("cell_type") == "code"),
        "markdown_cells": sum(1 for cell in cells if cell.get("cell_type") == "markdown"),
    }
    environment = publish_info.get("environment") if isinstance(publish_info, dict) else None
    if isinstance(environment, dict):
        attrs["environment"] = {
            key: text(environment.get(key), 300)
            for key in ("owner", "name", "version", "url")
            if environment.get(key)
        }
    return Inspection(
        distribution_type="ipynb",
        attrs=attrs,
        summary=summary,
        description=first_markdown(notebook),
        description_content_type="text/markdown",
    )


#: Characters of a notebook's first Markdown cell kept as its description.
MAX_DESCRIPTION_CHARS = 20_000


def first_markdown(notebook: NotebookNode) -> str:
    """The first Markdown cell's text: what the notebook says about itself."""
    for cell in notebook.get("cells", []):
        if cell.get("cell_type") == "markdown":
            source = cell.get("source", "")
            return text("".join(source) if isinstance(source, list) else source, 20_000)
    return ""


def read_notebook(data: bytes, filename: str) -> NotebookNode:
    """Parse and validate notebook bytes (shared with the web page that renders them).

    nbformat is imported here, on first use: it brings jsonschema's format checkers, whose
    IRI grammar (rfc3987-syntax) takes about two seconds of CPU to build, and a server that
    is never sent a notebook should not pay that at every start."""
    import nbformat

    try:
        notebook: NotebookNode = nbformat.reads(data.decode("utf-8"), as_version=4)
    except UnicodeDecodeError:
        raise InvalidInput(f"{filename} is not UTF-8 text, so it is not a notebook.") from None
    except RecursionError:
        raise InvalidInput(
            f"{filename} is not a valid notebook: it is nested more than "
            f"{NOTEBOOK_MAX_DEPTH} levels deep"
        ) from None
    except MemoryError:
        raise
    except Exception as error:  # JSON errors, unknown nbformat versions, wrong shapes
        raise InvalidInput(f"{filename} is not a valid notebook: {error}") from None
    try:
        # Outputs and widget state nest a few levels; far deeper only breaks the validator
        # and the renderer, which walk it recursively.
        bounded_json.check_depth(notebook, NOTEBOOK_MAX_DEPTH)
    except bounded_json.JSONRefused as error:
        raise InvalidInput(f"{filename} is not a valid notebook: {error}") from None
    try:
        nbformat.validate(notebook)
    except nbformat.ValidationError as error:
        message = str(error).splitlines()[0]
        raise InvalidInput(f"{filename} is not a valid notebook: {message}") from None
    return notebook


def title_and_summary(notebook: NotebookNode) -> tuple[str, str]:
    title = text(notebook.get("metadata", {}).get("title"), 200)
    summary = ""
    for cell in notebook.get("cells", []):
        if cell.get("cell_type") != "markdown":
            continue
        for paragraph in re.split(r"\n\s*\n", "".join(cell.get("source", ""))):
            lines = paragraph.strip().splitlines()
            if not lines:
                continue
            heading = _HEADING.match(lines[0])
            if heading and not title:
                title = heading.group(1)[:200]
                lines = lines[1:]
            body = " ".join(line.strip() for line in lines if line.strip())
            if body and not summary and not heading:
                summary = body[:300]
        if title and summary:
            break
    return title, summary
