"""Read the environment of the interpreter that runs this file; print it as JSON.

This module is run *inside the kernel's own interpreter* (``python -c <this source>``),
which may not have jupyter-repo or anything else installed, so it uses the standard library
only and works on Python 3.8 and later. The same functions also read a conda prefix
in-process when there is no interpreter to run.
"""

import json
import re
import sys
from pathlib import Path

CONDA_FIELDS = (
    "name",
    "version",
    "build",
    "build_number",
    "channel",
    "url",
    "subdir",
    "md5",
    "sha256",
    "fn",
    "noarch",
)


def canonical(name):
    """PEP 503, as ``packaging.utils.canonicalize_name`` (which the kernel may not have)."""
    return re.sub(r"[-_.]+", "-", name).lower()


def pip_packages():
    """Every distribution importable here, first on ``sys.path`` winning (as for imports)."""
    from importlib import metadata

    found = {}
    for dist in metadata.distributions():
        name = dist.metadata["Name"] if dist.metadata else None
        if not name or canonical(name) in found:
            continue
        entry = {
            "name": name,
            "version": dist.version,
            "installer": (dist.read_text("INSTALLER") or "").strip(),
        }
        direct = dist.read_text("direct_url.json")
        if direct:
            try:
                info = json.loads(direct)
                entry["direct_url"] = info.get("url", "")
                entry["editable"] = bool((info.get("dir_info") or {}).get("editable"))
            except ValueError:
                pass
        found[canonical(name)] = entry
    return sorted(found.values(), key=lambda item: canonical(item["name"]))


def conda_packages(prefix):
    """The records of ``<prefix>/conda-meta/*.json``, or None when it is not a conda env."""
    meta = Path(prefix) / "conda-meta"
    if not meta.is_dir():
        return None
    records = []
    for path in sorted(meta.glob("*.json")):
        try:
            record = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            continue
        if isinstance(record, dict) and record.get("name") and record.get("version"):
            records.append({key: record.get(key) for key in CONDA_FIELDS if key in record})
    return sorted(records, key=lambda item: item["name"])


def describe():
    return {
        "python_version": ".".join(str(part) for part in sys.version_info[:3]),
        "implementation": sys.implementation.name,
        "executable": sys.executable,
        "prefix": sys.prefix,
        "platform": sys.platform,
        "pip": pip_packages(),
        "conda": conda_packages(sys.prefix),
    }


if __name__ == "__main__":
    sys.stdout.write(json.dumps(describe()))
