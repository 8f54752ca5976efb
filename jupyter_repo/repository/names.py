"""Validation and normalisation of every name that comes from a user.

Names are checked here before they reach the database, a storage key or a URL, so that
path traversal (``..``, absolute paths, backslashes, NUL) and ambiguous spellings are refused
with a clear message in one place.
"""

from __future__ import annotations

import re

from packaging.utils import canonicalize_name

from jupyter_repo.repository.errors import InvalidInput

LOGIN_RE = re.compile(r"^[a-z0-9][a-z0-9_-]{0,63}$")
PACKAGE_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._+-]{0,127}$")
VERSION_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._+!-]{0,63}$")
LABEL_RE = re.compile(r"^[a-z][a-z0-9_.-]{0,127}$")
SUBDIR_RE = re.compile(r"^(noarch|[a-z0-9]+-[a-z0-9]+)$")
FILENAME_RE = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9._+~@=,-]{0,254}$")
GROUP_RE = re.compile(r"^[a-z0-9][a-z0-9_-]{0,63}$")

#: Logins that would collide with the server's own top-level routes.
RESERVED_LOGINS = frozenset(
    {
        "about",
        "account",
        "admin",
        "api",
        "conda",
        "download",
        "docs",
        "explore",
        "help",
        "label",
        "labels",
        "login",
        "oauth",
        "logout",
        "new",
        "notebooks",
        "orgs",
        "organizations",
        "package",
        "packages",
        "pypi",
        "search",
        "settings",
        "signup",
        "static",
        "t",
        "token",
        "tokens",
        "user",
        "users",
        "_",
        "health",
        "healthz",
    }
)

DEFAULT_LABEL = "main"
PACKAGE_TYPES = ("conda", "pypi", "ipynb", "env", "project", "file")


def _refuse_traversal(kind: str, value: str) -> None:
    if not value:
        raise InvalidInput(f"The {kind} must not be empty.")
    if "\x00" in value:
        raise InvalidInput(f"The {kind} must not contain a NUL character.")
    if "\\" in value:
        raise InvalidInput(f"The {kind} must not contain a backslash.")
    if value.startswith("/"):
        raise InvalidInput(f"The {kind} must not be an absolute path.")
    if any(part in ("..", ".") for part in value.split("/")):
        raise InvalidInput(f"The {kind} must not contain '.' or '..' path components.")
    if any(ord(ch) < 32 or ord(ch) == 127 for ch in value):
        raise InvalidInput(f"The {kind} must not contain control characters.")


def login(value: str) -> str:
    """A user or organization name, normalised to lower case."""
    if not isinstance(value, str):
        raise InvalidInput("The account name must be a string.")
    _refuse_traversal("account name", value)
    normalised = value.lower()
    if not LOGIN_RE.match(normalised):
        raise InvalidInput(
            f"Invalid account name {value!r}: use 1-64 letters, digits, '-' or '_', "
            "starting with a letter or digit."
        )
    return normalised


def new_login(value: str) -> str:
    """A name for an account being created: also refuses reserved words."""
    normalised = login(value)
    if normalised in RESERVED_LOGINS:
        raise InvalidInput(f"The name {value!r} is reserved; choose another.")
    return normalised


def package(value: str) -> str:
    """A package name, kept as given (look-ups are case-insensitive)."""
    if not isinstance(value, str):
        raise InvalidInput("The package name must be a string.")
    _refuse_traversal("package name", value)
    if not PACKAGE_RE.match(value) or ".." in value:
        raise InvalidInput(
            f"Invalid package name {value!r}: use up to 128 letters, digits, '.', '_', '+' "
            "or '-', starting with a letter or digit."
        )
    return value


def package_key(value: str) -> str:
    """The case-insensitive key under which a package name is unique in its namespace."""
    return package(value).lower()


def project_key(value: str) -> str:
    """The key under which a package name is unique in its namespace: its PEP 503 form.

    ``Sci-Tools``, ``sci_tools`` and ``sci.tools`` are one project for pip, so they are one
    package here, whatever the package's type.
    """
    return canonicalize_name(package(value))


def version(value: str) -> str:
    if not isinstance(value, str):
        raise InvalidInput("The version must be a string.")
    _refuse_traversal("version", value)
    if not VERSION_RE.match(value) or ".." in value:
        raise InvalidInput(
            f"Invalid version {value!r}: use up to 64 letters, digits, '.', '_', '+', '!' "
            "or '-', starting with a letter or digit."
        )
    return value


def label(value: str) -> str:
    """A label name, normalised to lower case (``Dev`` and ``dev`` are one label)."""
    if not isinstance(value, str):
        raise InvalidInput("The label must be a string.")
    _refuse_traversal("label", value)
    normalised = value.lower()
    if not LABEL_RE.match(normalised) or ".." in normalised:
        raise InvalidInput(
            f"Invalid label {value!r}: start with a letter, then use letters, digits, "
            "'.', '_' or '-' (at most 128 characters)."
        )
    if normalised == "nolabel":
        raise InvalidInput("The label name 'nolabel' is reserved.")
    return normalised


def labels(values: list[str] | None) -> list[str]:
    """The labels of an upload: ``[]`` or ``None`` means ``main`` (anaconda-client sends ``[]``)."""
    if values is None:
        return [DEFAULT_LABEL]
    if not isinstance(values, list):
        raise InvalidInput("Labels must be given as a list of names.")
    result: list[str] = []
    for value in values:
        name = label(value)
        if name not in result:
            result.append(name)
    return result or [DEFAULT_LABEL]


def subdir(value: str) -> str:
    _refuse_traversal("platform", value)
    if len(value) > 32 or not SUBDIR_RE.match(value):
        raise InvalidInput(
            f"Invalid platform subdir {value!r}: expected 'noarch' or '<os>-<arch>' "
            "such as 'linux-64'."
        )
    return value


def filename(value: str) -> str:
    """A plain file name (no directory part)."""
    _refuse_traversal("file name", value)
    if "/" in value or not FILENAME_RE.match(value) or ".." in value:
        raise InvalidInput(
            f"Invalid file name {value!r}: use letters, digits and '._+~@=,-' only "
            "(no spaces or path separators), starting with a letter, digit or '_'."
        )
    return value


def basename(value: str, distribution_type: str | None = None) -> tuple[str | None, str]:
    """Split and check a distribution basename: ``<subdir>/<file>`` for conda, ``<file>`` else.

    Returns ``(subdir, filename)``; ``subdir`` is ``None`` for non-conda files.
    """
    if not isinstance(value, str):
        raise InvalidInput("The file name must be a string.")
    _refuse_traversal("file name", value)
    parts = value.split("/")
    if distribution_type == "conda" or (distribution_type is None and len(parts) == 2):
        if len(parts) != 2:
            raise InvalidInput(
                f"A conda file name must look like '<subdir>/<file>', got {value!r}."
            )
        return subdir(parts[0]), filename(parts[1])
    if len(parts) != 1:
        raise InvalidInput(f"The file name {value!r} must not contain '/'.")
    return None, filename(value)


def group(value: str) -> str:
    if not isinstance(value, str):
        raise InvalidInput("The group name must be a string.")
    _refuse_traversal("group name", value)
    normalised = value.lower()
    if not GROUP_RE.match(normalised):
        raise InvalidInput(f"Invalid group name {value!r}: use 1-64 letters, digits, '-' or '_'.")
    return normalised


def package_type(value: str) -> str:
    if not isinstance(value, str):
        raise InvalidInput("The package type must be a string.")
    aliases = {
        "notebook": "ipynb",
        "environment": "env",
        "standard_python": "pypi",
        "PyPI": "pypi",
        "data": "file",
    }
    normalised = aliases.get(value, value)
    if normalised not in PACKAGE_TYPES:
        raise InvalidInput(
            f"Unknown package type {value!r}; expected one of: {', '.join(PACKAGE_TYPES)}."
        )
    return normalised
