"""Projects: an archive of a folder with a project spec; its file list and spec are extracted."""

from __future__ import annotations

import tarfile
import zipfile
from pathlib import Path
from typing import Any

import yaml

from jupyter_repo.repository.errors import InvalidInput, RepositoryError
from jupyter_repo.repository.inspect import envspec
from jupyter_repo.repository.inspect.base import InflateBudget, Inspection, Limits, text
from jupyter_repo.repository.inspect.members import MemberCheck

#: Spec files, most specific first; ``binder/`` files win over top-level ones as in repo2docker.
SPEC_FILES = (
    "anaconda-project.yml",
    "binder/environment.yml",
    "binder/requirements.txt",
    "environment.yml",
    "environment.yaml",
    "requirements.txt",
)
ARCHIVE_SUFFIXES = (".tar.gz", ".tgz", ".tar.bz2", ".tar", ".zip")
#: A project's README (top level), most preferred first, with how it is written.
READMES = {
    "README.md": "text/markdown",
    "README.rst": "text/x-rst",
    "README.txt": "text/plain",
    "README": "text/plain",
}
MAX_README_CHARS = 100_000
MAX_LISTED_FILES = 5000


def inspect(path: Path, filename: str, limits: Limits) -> Inspection:
    if not filename.lower().endswith(ARCHIVE_SUFFIXES):
        raise InvalidInput(
            f"A project must be uploaded as an archive ({', '.join(ARCHIVE_SUFFIXES)}), "
            f"got {filename!r}."
        )
    try:
        entries, specs = _scan(path, filename, limits)
    except RepositoryError:
        raise
    except Exception as error:
        raise InvalidInput(
            f"{filename} is not a readable archive: {type(error).__name__}: {error}"
        ) from None
    prefix = _common_prefix([entry["path"] for entry in entries])
    if prefix:
        for entry in entries:
            entry["path"] = entry["path"][len(prefix) + 1 :]
        specs = {
            name[len(prefix) + 1 :]: content
            for name, content in specs.items()
            if name.startswith(prefix + "/")
        }
    spec_name = next((name for name in SPEC_FILES if name in specs), None)
    if spec_name is None:
        raise InvalidInput("A project needs a project spec: one of " + ", ".join(SPEC_FILES) + ".")
    spec = _parse_project_spec(spec_name, specs[spec_name])
    description, description_content_type = _readme(specs)
    total = sum(entry["size"] for entry in entries)
    listed = sorted(entries, key=lambda entry: entry["path"])[:MAX_LISTED_FILES]
    return Inspection(
        distribution_type="project",
        attrs={
            "spec_file": spec_name,
            "spec": spec,
            "spec_text": specs[spec_name][:200_000],
            "files": listed,
            "num_files": len(entries),
            "total_size": total,
            "notebooks": [e["path"] for e in listed if e["path"].endswith(".ipynb")],
        },
        dependencies={"conda": spec.get("conda", []), "pip": spec.get("pip", [])},
        summary=text(spec.get("description"), 300) or f"Project with {len(entries)} files",
        description=description,
        description_content_type=description_content_type,
    )


def _readme(found: dict[str, str]) -> tuple[str, str]:
    """The description from the project's top-level README, and how it is written."""
    for name, content_type in READMES.items():
        if name in found:
            return found[name][:MAX_README_CHARS], content_type
    return "", ""


def _scan(path: Path, filename: str, limits: Limits) -> tuple[list[dict[str, Any]], dict[str, str]]:
    budget = InflateBudget(limits)
    members = MemberCheck(filename)
    entries: list[dict[str, Any]] = []
    specs: dict[str, str] = {}

    def wanted(name: str) -> bool:
        if name.rsplit("/", 1)[-1] in READMES and name.count("/") <= 1:
            return True
        return any(name == spec or name.endswith("/" + spec) for spec in SPEC_FILES) and (
            name.count("/") <= 2
        )

    if filename.lower().endswith(".zip"):
        with open(path, "rb") as raw, zipfile.ZipFile(raw) as archive:
            for info, name in members.zip_members(archive, raw, budget):
                if info.is_dir() or not name or name in members.symlinks:
                    continue
                budget.charge(info.file_size, members=0)  # counted as a member above
                entries.append({"path": name, "size": info.file_size})
                if wanted(name) and info.file_size <= 1 << 20:
                    specs[name] = archive.read(info).decode("utf-8", "replace")
        members.finish()
        return entries, specs
    with tarfile.open(path, mode="r|*") as tar:
        for member in tar:
            budget.charge(member.size if member.isfile() else 0)
            name = members.tar_member(member)
            if not member.isfile() or not name:
                continue
            entries.append({"path": name, "size": member.size})
            if wanted(name) and member.size <= 1 << 20:
                stream = tar.extractfile(member)
                if stream is not None:
                    specs[name] = stream.read().decode("utf-8", "replace")
    members.finish()
    return entries, specs


def _common_prefix(paths: list[str]) -> str:
    """The single top-level folder all paths share, if any (archives of a folder)."""
    tops = {p.split("/", 1)[0] for p in paths}
    if len(tops) == 1 and all("/" in p for p in paths):
        return tops.pop()
    return ""


def _parse_project_spec(name: str, content: str) -> dict[str, Any]:
    if name == "anaconda-project.yml":
        try:
            document = yaml.safe_load(content) or {}
        except yaml.YAMLError as error:
            raise InvalidInput(f"anaconda-project.yml is not valid YAML: {error}") from None
        if not isinstance(document, dict):
            raise InvalidInput("anaconda-project.yml must be a YAML mapping.")
        packages = document.get("packages") or document.get("dependencies") or []
        if not isinstance(packages, list):
            raise InvalidInput("anaconda-project.yml: 'packages' must be a list.")
        conda, pip = envspec.dependency_lists(packages, name)
        return {
            "format": "anaconda-project",
            "name": text(document.get("name"), 200),
            "description": text(document.get("description"), 1000),
            "channels": envspec.channel_list(document.get("channels"), name),
            "conda": conda,
            "pip": pip,
            "counts": {"conda": len(conda), "pip": len(pip)},
        }
    return envspec.parse_spec(content, name.rsplit("/", 1)[-1])
