"""Environment specs: ``environment.yml``, ``requirements.txt`` and explicit lock files.

Their pip parts hold requirements only (:mod:`~.requirements`): an option line or a URL is
refused, naming it, so that installing a shared environment never sends pip elsewhere.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import yaml

from jupyter_repo.repository.errors import InvalidInput, TooLarge
from jupyter_repo.repository.inspect.base import Inspection, Limits, text
from jupyter_repo.repository.inspect.requirements import (
    check_conda_text,
    requirement,
    requirements_file,
    unsafe_characters,
)
from jupyter_repo.repository.security import TOKEN_PREFIX

#: A token in a channel's path, as conda and rattler carry it (``.../t/<token>/...``): this
#: server's tokens, and anything as long and random-looking as anaconda.org's.
PATH_TOKEN_RE = re.compile(r"/t/([^/]+)(?=/|$)")
TOKEN_LIKE_RE = re.compile(r"[A-Za-z0-9_-]{20,}")


def _credentials(url: str) -> str | None:
    """What secret ``url`` carries (a channel or a lock's package URL), or None.

    Shared specs are read by everyone who can read the package; a token, a password or a
    signed query there hands the publisher's access to them."""
    parts = urlsplit(url)
    if parts.username or parts.password:
        return "a user name or password"
    if parts.query:
        return "a query string (a signed or token URL)"
    for segment in PATH_TOKEN_RE.findall(parts.path):
        if segment.startswith(TOKEN_PREFIX) or TOKEN_LIKE_RE.fullmatch(segment):
            return "a token (/t/<token>/)"
    return None


def check_no_credentials(url: str, where: str) -> str:
    """``url`` unless it carries credentials; the message never repeats them."""
    secret = _credentials(url)
    if secret is not None:
        parts = urlsplit(url)
        shown = f"{parts.scheme}://{parts.hostname or ''}/…" if parts.scheme else "a URL"
        raise InvalidInput(
            f"{where}: {shown} carries {secret}; anyone who can read this spec could use "
            "it. Publish the spec without credentials (the client strips them when it "
            "captures an environment)."
        )
    return url


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
        description=leading_comment(content),
        description_content_type="text/plain",
        distribution_type="env",
        attrs={
            "format": spec["format"],
            "env_name": spec.get("name", ""),
            "channels": spec.get("channels", []),
            "counts": spec["counts"],
        },
        dependencies={"conda": spec["conda"], "pip": spec["pip"]},
        summary=summary,
    )


#: Characters of an environment spec's leading comment kept as its description.
MAX_COMMENT_CHARS = 10_000


def leading_comment(content: str) -> str:
    """The comment lines a spec starts with (``# ...``): what its author says about it."""
    lines: list[str] = []
    for line in content.splitlines():
        stripped = line.strip()
        if not stripped.startswith("#"):
            break
        if stripped.startswith(("#!", "# -*-")):
            continue
        lines.append(stripped[1:].removeprefix(" "))
    return "\n".join(lines).strip()[:MAX_COMMENT_CHARS]


def parse_spec(content: str, filename: str) -> dict[str, Any]:
    """Parse any supported spec into ``{format, name, channels, conda: [...], pip: [...]}``."""
    lower = filename.lower()
    stripped = [line.strip() for line in content.splitlines()]
    meaningful = [line for line in stripped if line and not line.startswith("#")]
    if meaningful and meaningful[0] == "@EXPLICIT":
        return _explicit(meaningful[1:], filename)
    if lower.endswith((".yml", ".yaml")):
        return _environment_yml(content, filename)
    if lower.endswith(".txt") or lower.endswith(".in"):
        return _requirements(content, filename)
    raise InvalidInput(
        f"{filename} is not a recognised environment spec: expected environment.yml, "
        "requirements.txt or an explicit (@EXPLICIT) lock file."
    )


def _explicit(lines: list[str], filename: str) -> dict[str, Any]:
    urls = [line for line in lines if not line.startswith("@")]
    for url in urls:
        if not url.startswith(("http://", "https://", "file://")):
            raise InvalidInput(
                f"{filename}: an explicit lock file lists package URLs; {url[:80]!r} is not one."
            )
        if unsafe_characters(url) or any(char.isspace() for char in url):
            raise InvalidInput(
                f"{filename}: an explicit lock file lists one URL a line; "
                f"{url[:80]!r} has spaces or control characters."
            )
        check_no_credentials(url, f"{filename}: a package URL")
    packages = [url.rsplit("/", 1)[-1].split("#", 1)[0] for url in urls]
    return {
        "format": "explicit",
        "name": "",
        "channels": [],
        "conda": packages,
        "pip": [],
        "counts": {"conda": len(packages), "pip": 0},
        "urls": urls,
    }


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
    conda, pip = dependency_lists(dependencies, filename)
    return {
        "format": "environment.yml",
        "name": text(document.get("name"), 200),
        "channels": channel_list(document.get("channels"), filename),
        "conda": conda,
        "pip": pip,
        "counts": {"conda": len(conda), "pip": len(pip)},
    }


def dependency_lists(dependencies: list[Any], filename: str) -> tuple[list[str], list[str]]:
    """``(conda, pip)`` of a ``dependencies`` list: strings and ``{"pip": [...]}`` lists."""
    conda: list[str] = []
    pip: list[str] = []
    for item in dependencies:
        if isinstance(item, str):
            conda.append(check_conda_text(item, f"{filename} dependency"))
        elif isinstance(item, dict) and isinstance(item.get("pip"), list):
            for entry in item["pip"]:
                if not isinstance(entry, (str, int, float)) or isinstance(entry, bool):
                    raise InvalidInput(f"{filename}: pip entry {entry!r:.80} is not a requirement.")
                pip.append(requirement(str(entry), f"{filename} pip entry"))
        else:
            raise InvalidInput(
                f"{filename}: each dependency must be a string or a 'pip:' list, got {item!r:.80}."
            )
    return conda, pip


def channel_list(channels: Any, filename: str) -> list[str]:
    """The ``channels`` of a spec, each one line and not an option."""
    channels = channels or []
    if not isinstance(channels, list):
        raise InvalidInput(f"{filename}: 'channels' must be a list.")
    return [
        check_no_credentials(
            check_conda_text(str(channel), f"{filename} channel"), f"{filename} channel"
        )
        for channel in channels
    ]


def _requirements(content: str, filename: str) -> dict[str, Any]:
    pip = requirements_file(content, filename)
    return {
        "format": "requirements.txt",
        "name": "",
        "channels": [],
        "conda": [],
        "pip": pip,
        "counts": {"conda": 0, "pip": len(pip)},
    }
