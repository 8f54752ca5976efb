"""Data and other files (CSV, TSV, TXT, anything else): stored as type ``file``.

For delimited text a header row is read (first 64 KiB only) so that pages can show columns.
"""

from __future__ import annotations

import csv
import io
import mimetypes
from pathlib import Path

from jupyter_repo.repository.inspect.base import Inspection, Limits

KINDS = {
    ".csv": "csv",
    ".tsv": "tsv",
    ".tab": "tsv",
    ".txt": "text",
    ".json": "json",
    ".parquet": "parquet",
    ".md": "text",
}


def inspect(path: Path, filename: str, limits: Limits) -> Inspection:
    suffix = Path(filename).suffix.lower()
    kind = KINDS.get(suffix, "binary")
    attrs: dict[str, object] = {
        "kind": kind,
        "content_type": mimetypes.guess_type(filename)[0] or "application/octet-stream",
    }
    if kind in ("csv", "tsv"):
        with open(path, "rb") as handle:
            head = handle.read(64 * 1024).decode("utf-8", "replace")
        reader = csv.reader(io.StringIO(head, newline=""), delimiter="\t" if kind == "tsv" else ",")
        try:
            header = next(reader, None)
        except csv.Error:
            header = None  # not well-formed delimited text: it is still a file, just no columns
        if header:
            attrs["columns"] = [column[:100] for column in header[:200]]
    return Inspection(distribution_type="file", attrs=attrs)
