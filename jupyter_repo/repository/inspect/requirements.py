"""pip requirements in environment specs: requirements only, never pip options.

pip reads a requirements file line by line, and conda hands an ``environment.yml``'s
``pip:`` list to pip as such a file. A line that is an option (``--index-url``, ``-i``,
``--extra-index-url``, ``-f``/``--find-links``, ``--trusted-host``, ``-r``, ``-c``,
``-e``/``--editable``, anywhere on the line), a URL or a path (``name @ https://...``,
``git+https://...``, ``./pkg``) makes whoever installs the environment fetch code from
wherever the spec says, past the indexes they chose. So a spec may list only PEP 508
requirements without a URL -- a name, extras, version specifiers and markers -- each
optionally followed by ``--hash=<algorithm>:<digest>`` (pip-compile's hash-checking output,
which narrows what pip accepts). The repository refuses anything else at upload, naming the
line, and the installer checks every line again before pip or uv sees it.
"""

from __future__ import annotations

import re
import unicodedata

from packaging.requirements import InvalidRequirement, Requirement

from jupyter_repo.repository.errors import InvalidInput

#: pip's own comment rule (``pip._internal.req.req_file.COMMENT_RE``).
COMMENT_RE = re.compile(r"(^|\s+)#.*$")
HASH_RE = re.compile(r"^--hash=[A-Za-z0-9]+:[0-9A-Fa-f]+$")
#: Names pip takes for a local archive rather than a project (``is_archive_file``).
ARCHIVE_SUFFIXES = (
    ".whl",
    ".zip",
    ".tar.gz",
    ".tgz",
    ".tar",
    ".tar.bz2",
    ".tbz",
    ".tar.xz",
    ".txz",
    ".tlz",
    ".tar.lz",
    ".tar.lzma",
)
WHAT_IS_ALLOWED = (
    "an environment may list only requirements (a name, extras, version "
    "specifiers and markers), so that installing it never changes where pip "
    "looks for packages"
)


def _shown(text: str) -> str:
    return repr(text[:160])


def unsafe_characters(text: str) -> str | None:
    """What in ``text`` could start another line for pip, conda or uv (None: nothing)."""
    for char in text:
        if unicodedata.category(char) in ("Cc", "Zl", "Zp"):
            return "a line break or control character" if char not in "\t" else "a tab"
    if "\\" in text:
        return "a backslash (pip joins the next line to it)"
    return None


def requirement(text: str, where: str) -> str:
    """``text`` as a requirement pip may be given (any ``--hash`` options dropped).

    ``where`` names the place in the spec for the message (``requirements.txt line 3``).
    """
    line = text.strip()
    bad = unsafe_characters(line)
    if bad:
        raise InvalidInput(f"{where}: {_shown(text)} has {bad}; {WHAT_IS_ALLOWED}.")
    if "${" in line:
        raise InvalidInput(
            f"{where}: {_shown(text)} names an environment variable, which "
            f"pip would expand; {WHAT_IS_ALLOWED}."
        )
    tokens = line.split()
    first_hash = next(
        (index for index, token in enumerate(tokens) if HASH_RE.match(token)), len(tokens)
    )
    options = [
        token
        for index, token in enumerate(tokens)
        if token.startswith("-") and not (index >= first_hash and HASH_RE.match(token))
    ]
    if options:
        raise InvalidInput(
            f"{where}: {_shown(text)} is a pip option ({options[0][:40]}); {WHAT_IS_ALLOWED}."
        )
    if first_hash == 0:
        raise InvalidInput(f"{where}: {_shown(text)} is not a requirement; {WHAT_IS_ALLOWED}.")
    if any(not HASH_RE.match(token) for token in tokens[first_hash:]):
        raise InvalidInput(
            f"{where}: {_shown(text)} has text after its --hash options; {WHAT_IS_ALLOWED}."
        )
    wanted = re.split(r"\s+--hash=", line, maxsplit=1)[0].strip()
    if "://" in wanted or wanted.startswith((".", "/", "~")):
        raise InvalidInput(
            f"{where}: {_shown(text)} is a URL or a path, which pip would "
            f"fetch from wherever it points; {WHAT_IS_ALLOWED}."
        )
    try:
        parsed = Requirement(wanted)
    except InvalidRequirement as error:
        message = str(error).splitlines()[0][:200]
        raise InvalidInput(
            f"{where}: {_shown(text)} is not a requirement ({message}); {WHAT_IS_ALLOWED}."
        ) from None
    if parsed.url:
        raise InvalidInput(
            f"{where}: {_shown(text)} points at a URL ({parsed.url[:100]}), "
            f"which pip would fetch from wherever it points; {WHAT_IS_ALLOWED}."
        )
    if parsed.name.lower().endswith(ARCHIVE_SUFFIXES):
        raise InvalidInput(
            f"{where}: {_shown(text)} is a file name, which pip would install "
            f"from a local archive; {WHAT_IS_ALLOWED}."
        )
    return wanted


def logical_lines(content: str) -> list[tuple[int, str]]:
    """``(first line number, text)`` of each line of a requirements file as pip reads it:
    backslash continuations joined, comments and blank lines dropped (pip's own rules)."""
    joined: list[tuple[int, str]] = []
    pending: list[str] = []
    start = 0
    for number, line in enumerate(content.splitlines(), start=1):
        if not line.endswith("\\") or COMMENT_RE.match(line):
            if COMMENT_RE.match(line):
                line = " " + line
            if pending:
                pending.append(line)
                joined.append((start, "".join(pending)))
                pending = []
            else:
                joined.append((number, line))
        else:
            if not pending:
                start = number
            pending.append(line.strip("\\"))
    if pending:
        joined.append((start, "".join(pending)))
    result: list[tuple[int, str]] = []
    for number, line in joined:
        line = COMMENT_RE.sub("", line).strip()
        if line:
            result.append((number, line))
    return result


def requirements_file(content: str, filename: str) -> list[str]:
    """Every requirement of a requirements file, or InvalidInput naming the first line that
    is an option, a URL, a path or not a requirement."""
    return [
        requirement(line, f"{filename} line {number}") for number, line in logical_lines(content)
    ]


def check_conda_text(text: str, where: str) -> str:
    """A conda dependency or channel of a spec: one line, not an option."""
    value = text.strip()
    bad = unsafe_characters(value)
    if bad:
        raise InvalidInput(f"{where}: {_shown(text)} has {bad}.")
    if not value or value.startswith("-"):
        raise InvalidInput(f"{where}: {_shown(text)} is not a conda package or channel.")
    return value
