"""What ``channeldata.json`` needs of one conda file, as conda-index derives it.

conda-index reads a package's ``info/recipe/meta.yaml``, ``info/about.json`` and
``info/index.json`` into one mapping (later ones winning), adds ``source_<key>`` for each key
of the recipe's ``source`` section, flattens newlines out of ``summary`` and ``description``,
and records whether ``info/paths.json`` lists files with an embedded prefix, activation
scripts or link scripts. Only the keys channeldata copies are kept here, computed once at
upload: building ``channeldata.json`` then reads these small mappings, not the packages.
"""

from __future__ import annotations

import fnmatch
from typing import Any

import yaml

#: Copied from the newest version of a package (when the newest has them).
NEWEST_FIELDS = (
    "description",
    "dev_url",
    "doc_url",
    "doc_source_url",
    "home",
    "license",
    "source_url",
    "source_git_url",
    "summary",
    "icon_url",
    "icon_hash",
    "tags",
    "identifiers",
    "keywords",
    "recipe_origin",
    "version",
)
#: True for a package when any of its files says so.
FLAGS = (
    "binary_prefix",
    "text_prefix",
    "activate.d",
    "deactivate.d",
    "pre_link",
    "post_link",
    "pre_unlink",
)
#: The recipe files conda-index reads, the first one in the archive winning.
RECIPE_MEMBERS = ("info/recipe/meta.yaml", "info/recipe/meta.yaml.rendered", "info/meta.yaml")
_LINK_SCRIPTS = ("pre-link", "post-link", "pre-unlink")
#: Bounds of what a file may put in channeldata: every build of a channel reads these.
MAX_DESCRIPTION = 20_000
MAX_TEXT = 2_000
MAX_ITEMS = 100


def flags(paths: list[dict[str, Any]] | None) -> dict[str, bool]:
    """Prefix, activation and link-script flags from ``info/paths.json`` (all false without
    one, as conda-index has them: ``info/files`` says nothing of prefixes)."""
    found = dict.fromkeys(FLAGS, False)
    for entry in paths or ():
        path = str(entry.get("_path", ""))
        if entry.get("prefix_placeholder"):
            mode = entry.get("file_mode")
            if mode == "binary":
                found["binary_prefix"] = True
            elif mode == "text":
                found["text_prefix"] = True
        for folder in ("activate.d", "deactivate.d"):
            if path.startswith(f"etc/conda/{folder}"):
                found[folder] = True
        for script in _LINK_SCRIPTS:
            if fnmatch.fnmatchcase(path, f"*/.*-{script}.*"):
                found[script.replace("-", "_")] = True
    return found


def recipe(data: bytes | None) -> dict[str, Any]:
    """What channeldata takes from the recipe: its ``source`` section's text values, as
    ``{"source": {...}}``; ``{}`` when the recipe is absent or not plain YAML (an unrendered
    recipe's Jinja, say). Nothing else is kept: YAML aliases can make a small document
    expand into an enormous one once it is written out as JSON."""
    if not data:
        return {}
    try:
        loaded = yaml.load(data, Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader))
    except (yaml.YAMLError, ValueError, RecursionError):
        return {}
    source = loaded.get("source") if isinstance(loaded, dict) else None
    if not isinstance(source, dict):
        return {}
    return {"source": {str(key): value for key, value in source.items() if isinstance(value, str)}}


def _bounded(key: str, value: Any) -> Any:
    """A text or a list of texts, cut to size; ``None`` (left out) for any other shape."""
    limit = MAX_DESCRIPTION if key == "description" else MAX_TEXT
    if isinstance(value, str):
        return value[:limit]
    if isinstance(value, list) and all(isinstance(item, str) for item in value):
        return [item[:limit] for item in value[:MAX_ITEMS]]
    return None


def _flattened(value: Any) -> Any:
    """conda-index's newline clearing: strip, newlines to spaces; lists of strings joined."""
    if isinstance(value, str):
        return value.strip().replace("\n", " ")
    if isinstance(value, list) and all(isinstance(item, str) for item in value):
        return "".join(value).strip().replace("\n", " ")
    return value


def fields(
    index: dict[str, Any],
    about: dict[str, Any],
    recipe_data: dict[str, Any],
    paths: list[dict[str, Any]] | None,
    run_exports: dict[str, Any],
) -> dict[str, Any]:
    """The channeldata keys of one file: ``name``, ``timestamp``, the newest-version fields
    it has, its flags and its ``run_exports``."""
    merged: dict[str, Any] = {}
    merged.update(recipe_data)
    merged.update(about)
    merged.update(flags(paths))
    merged.update(index)
    source = merged.get("source")
    if isinstance(source, dict):
        merged.update({f"source_{key}": value for key, value in source.items()})
    for key in ("description", "summary"):
        if key in merged:
            merged[key] = _flattened(merged[key])
    kept = {
        key: value for key in NEWEST_FIELDS if (value := _bounded(key, merged.get(key))) is not None
    }
    kept.update({key: bool(merged.get(key)) for key in FLAGS})
    kept["name"] = index["name"]
    if isinstance(index.get("timestamp"), int):
        kept["timestamp"] = index["timestamp"]
    kept["run_exports"] = run_exports
    return kept
