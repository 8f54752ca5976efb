"""Copy-paste install instructions for a package page, per client and label."""

from __future__ import annotations

from dataclasses import dataclass, field

TOKEN_PLACEHOLDER = "<TOKEN>"


@dataclass(frozen=True)
class Instruction:
    client: str
    title: str
    commands: list[str]
    notes: list[str] = field(default_factory=list)


def _label_path(label: str) -> str:
    return "" if label == "main" else f"/label/{label}"


def _root(base_url: str, public: bool) -> str:
    """The server root; private packages need a token in the path (/t/<token>/)."""
    base = base_url.rstrip("/")
    return base if public else f"{base}/t/{TOKEN_PLACEHOLDER}"


def conda_channel(base_url: str, owner: str, label: str = "main", *, public: bool = True) -> str:
    return f"{_root(base_url, public)}/conda/{owner}{_label_path(label)}"


def pip_index(base_url: str, owner: str, label: str = "main", *, public: bool = True) -> str:
    return f"{_root(base_url, public)}/pypi/{owner}{_label_path(label)}/simple"


def _per_label(labels: list[str], commands: list[str]) -> list[str]:
    """One command per label, each under a shell comment naming its label when several."""
    if len(labels) == 1 and labels[0] == "main":
        return commands
    lines: list[str] = []
    for label, command in zip(labels, commands, strict=True):
        lines += [f"# label {label}", command]
    return lines


#: Package types ``jupyter repo install`` installs, and those ``jupyter repo open`` brings.
INSTALLABLE = ("conda", "pypi", "env")
OPENABLE = ("ipynb", "project", "file")


def jupyter_repo_commands(
    base_url: str,
    owner: str,
    package: str,
    types: list[str],
    environment: tuple[str, str] | None = None,
    *,
    public: bool = True,
) -> list[str]:
    """The ``jupyter repo`` lines for a package with files of ``types``: ``install`` for
    what goes into a Python environment, ``open`` for notebooks, projects and data files,
    and ``env create`` for the environment a notebook names; a private package's start
    with ``login`` (it asks for the password)."""
    url = f" --url {base_url.rstrip('/')}"
    lines = [] if public else [f"jupyter repo login{url}"]
    if not any(kind in INSTALLABLE + OPENABLE for kind in types) and environment is None:
        return []
    if any(kind in INSTALLABLE for kind in types):
        lines.append(f"jupyter repo install {owner}/{package}{url}")
    if any(kind in OPENABLE for kind in types):
        lines.append(f"jupyter repo open {owner}/{package}{url}")
    if environment is not None:
        lines.append(env_create_command(*environment) + url)
    return lines


def anaconda_commands(base_url: str, owner: str, package: str, *, public: bool) -> list[str]:
    """The anaconda CLI pointed at this server, then ``download``. A private package takes
    a token (``--token``) rather than ``anaconda login``: without ``--username`` that
    starts anaconda.com's browser sign-in, which knows nothing of this server."""
    token_option = "" if public else f" --token {TOKEN_PLACEHOLDER}"
    return [
        f"anaconda config --set url {base_url.rstrip('/')}/api",
        f"anaconda{token_option} download {owner}/{package}",
    ]


def env_create_command(owner: str, name: str) -> str:
    """A new environment (and kernel) from a shared one; this exact form is shown."""
    return f"jupyter repo env create {owner}/{name}"


def instructions(
    base_url: str,
    owner: str,
    package: str,
    *,
    public: bool,
    type_labels: dict[str, list[str]],
    environment: tuple[str, str] | None = None,
) -> list[Instruction]:
    """What to type to install (or open) ``owner/package``, for every client that can.

    ``type_labels`` maps each distribution type the package has to the labels holding
    files of that type ("main" first); a label other than main gets its own channel/index.
    ``environment`` is the ``(owner, name)`` of the environment its notebook names.
    """
    token_note = (
        [
            f"This package is private: replace {TOKEN_PLACEHOLDER} with a token from "
            "your account page (scope: download)."
        ]
        if not public
        else []
    )
    result: list[Instruction] = []
    conda_labels = type_labels.get("conda", [])
    if conda_labels:
        result.append(
            Instruction(
                "conda",
                "conda",
                _per_label(
                    conda_labels,
                    [
                        f"conda install -c {conda_channel(base_url, owner, label, public=public)}"
                        f" {package}"
                        for label in conda_labels
                    ],
                ),
                token_note,
            )
        )
    pypi_labels = type_labels.get("pypi", [])
    if pypi_labels:
        result.append(
            Instruction(
                "pip",
                "pip",
                _per_label(
                    pypi_labels,
                    [
                        f"pip install --index-url"
                        f" {pip_index(base_url, owner, label, public=public)} {package}"
                        for label in pypi_labels
                    ],
                ),
                token_note,
            )
        )
    anaconda = anaconda_commands(base_url, owner, package, public=public)
    result.append(Instruction("anaconda", "anaconda CLI", anaconda, token_note))
    commands = jupyter_repo_commands(
        base_url, owner, package, list(type_labels), environment, public=public
    )
    if commands:
        notes: list[str] = []
        if environment is not None:
            notes.append(
                "env create makes a new environment (and kernel) from the environment "
                "the notebook was published with."
            )
        result.append(Instruction("jupyter-repo", "jupyter repo", commands, notes))
    return result
