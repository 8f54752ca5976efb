"""Environment specs: ``environment.yml``, ``requirements.txt`` and explicit lock files."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml
from packaging.requirements import InvalidRequirement, Requirement

from jupyter_repo.repository.errors import InvalidInput, TooLarge
from jupyter_repo.repository.inspect.base import Inspection, Limits, text


def inspect(path: Path, filename: str, limits: Limits) -> Inspection:
    if path.stat().st_size > limits.max_parse_bytes:
        raise TooLarge(
            f"The environment file is larger than the limit of {limits.max_parse_bytes} bytes."
        )
    try:
        content = path.read_bytes().decode("utf-8")
    except UnicodeDecodeError:
        raise InvalidInput(f"{filename} is not UTF-8 text.") from None
    spec = parse_spec(content, filename)
    counts = spec["counts"]
    summary = f"Environment with {counts['conda']} conda and {counts['pip']} pip packages"
    if spec.get("name"):
        summary = f"{spec['name']}: {summary}"
    return Inspection(
        distribution_type="env",
        attrs={"format": spec["format"], "env_name": spec.get("name", ""),
               "channels": spec.get("channels", []), "counts": spec["counts"]},
        dependencies={"conda": spec["conda"], "pip": spec["pip"]},
        summary=summary,
    )


def parse_spec(content: str, filename: str) -> dict[str, Any]:
    """Parse any supported spec into ``{format, name, channels, conda: [...], pip: [...]}``."""
    lower = filename.lower()
    stripped = [line.strip() for line in content.splitlines()]
    meaningful = [line for line in stripped if line and not line.startswith("#")]
    if meaningful and meaningful[0] == "@EXPLICIT":
        return _explicit(meaningful[1:])
    if lower.endswith((".yml", ".yaml")):
        return _environment_yml(content, filename)
    if lower.endswith(".txt") or lower.endswith(".in"):
        return _requirements(meaningful, filename)
    raise InvalidInput(
        f"{filename} is not a recognised environment spec: expected environment.yml, "
        "requirements.txt or an explicit (@EXPLICIT) lock file."
    )


def _explicit(lines: list[str]) -> dict[str, Any]:
    urls = [line for line in lines if not line.startswith("@")]
    for url in urls:
        if not url.startswith(("http://", "https://", "file://")):
            raise InvalidInput(f"An explicit lock file lists URLs; {url[:80]!r} is not one.")
    packages = [url.rsplit("/", 1)[-1].split("#", 1)[0] for url in urls]
    return {"format": "explicit", "name": "", "channels": [], "conda": packages, "pip": [],
            "counts": {"conda": len(packages), "pip": 0}, "urls": urls}


def _environment_yml(content: str, filename: str) -> dict[str, Any]:
    try:
        document = yaml.safe_load(content)
    except yaml.YAMLError as error:
        raise InvalidInput(f"{filename} is not valid YAML: {error}") from None
    if not isinstance(document, dict):
        raise InvalidInput(f"{filename} must be a YAML mapping with a 'dependencies' list.")
    dependencies = document.get("dependencies")
    if not isinstance(dependencies, list):
        raise InvalidInput(f"{filename} must have a 'dependencies' list.")
    conda: list[str] = []
    pip: list[str] = []
    for item in dependencies:
        if isinstance(item, str):
            conda.append(item)
        elif isinstance(item, dict) and isinstance(item.get("pip"), list):
            pip.extend(str(requirement) for requirement in item["pip"])
        else:
            raise InvalidInput(
                f"{filename}: each dependency must be a string or a 'pip:' list, got {item!r:.80}."
            )
    channels = document.get("channels") or []
    if not isinstance(channels, list):
        raise InvalidInput(f"{filename}: 'channels' must be a list.")
    return {"format": "environment.yml", "name": text(document.get("name"), 200),
            "channels": [str(channel) for channel in channels], "conda": conda, "pip": pip,
            "counts": {"conda": len(conda), "pip": len(pip)}}


def _requirements(lines: list[str], filename: str) -> dict[str, Any]:
    pip: list[str] = []
    for line in lines:
        line = line.split(" #", 1)[0].strip()
        if line.endswith("\\"):
            line = line[:-1].strip()
        if not line or line.startswith(("-", "--")):
            continue  # options such as --index-url or -r; hashes continue lines
        if "://" in line and " @ " not in line:
            pip.append(line)  # a direct URL (git+https://..., https://.../x.whl)
            continue
        try:
            Requirement(line.split(";")[0].split(" --hash")[0].strip())
        except InvalidRequirement as error:
            raise InvalidInput(f"{filename}: {line[:80]!r} is not a requirement: {error}") from None
        pip.append(line.split(" --hash")[0].strip())
    return {"format": "requirements.txt", "name": "", "channels": [], "conda": [], "pip": pip,
            "counts": {"conda": 0, "pip": len(pip)}}
