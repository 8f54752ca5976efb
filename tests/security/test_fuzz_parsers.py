"""Fuzzing every parser of user input with hypothesis, from a committed seed corpus.

Each inspector must either accept a mutated file or refuse it with a repository error
(a clear 4xx for the server) — never crash, hang or allocate without bound — and what it
accepts must be safe by an independent judge: no archive member or link outside the
archive (Python's tar ``data`` filter, a lexical zip check), no pip option or URL in an
environment's pip part (``packaging``). The budget is fixed (examples per parser,
derandomized), so CI runs the same cases every time.

``fuzz_corpus/bad/`` holds hostile seeds (issue 15, findings 11 and 12; built with
``tests/support/archives.py``): escaping members and links for every archive type, option
lines and URLs in every environment-spec format. Each is refused naming what is wrong, and
its mutations are fuzzed like the good seeds.
"""

from __future__ import annotations

import time
import unicodedata
from collections.abc import Callable
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from packaging.requirements import Requirement

from jupyter_repo.repository import names
from jupyter_repo.repository.errors import InvalidInput, RepositoryError
from jupyter_repo.repository.inspect import Inspection, Limits, inspect_file
from jupyter_repo.repository.inspect.envspec import parse_spec
from tests.support.archives import escaping_members
from tests.support.fuzzing import budget
from tests.support.paths import FUZZ_CORPUS

CORPUS = FUZZ_CORPUS
EXAMPLES = 150
BAD_EXAMPLES = 100
LIMITS = Limits(
    max_inflate_bytes=8 << 20,
    max_member_bytes=1 << 20,
    max_archive_members=2000,
    max_parse_bytes=4 << 20,
)

SEEDS = [
    ("conda", "seed-1.0-h0_0.conda"),
    ("conda", "seed-1.0-0.tar.bz2"),
    ("pypi", "seed-1.0-py3-none-any.whl"),
    ("pypi", "seed-1.0.tar.gz"),
    ("ipynb", "seed.ipynb"),
    ("env", "environment.yml"),
    ("env", "requirements.txt"),
    ("env", "explicit.txt"),
    ("project", "seed-project.tar.gz"),
    ("file", "measurements.csv"),
]


#: (type, path under fuzz_corpus/, what the refusal must quote)
BAD_SEEDS = [
    ("conda", "bad/conda-payload-dotdot/planted-1.0-0.conda", "'../../x'"),
    ("conda", "bad/conda-info-symlink-absolute/planted-1.0-0.conda", "'info/x'"),
    ("conda", "bad/conda-zip-symlink/planted-1.0-0.conda", "'link'"),
    ("conda", "bad/conda-bz2-absolute/planted-1.0-0.tar.bz2", "'/tmp/x'"),
    ("conda", "bad/conda-bz2-hardlink/planted-1.0-0.tar.bz2", "'lib/h'"),
    ("pypi", "bad/wheel-zip-symlink/planted-1.0-py3-none-any.whl", "'planted/x'"),
    ("pypi", "bad/wheel-nul/planted-1.0-py3-none-any.whl", r"'planted/a\x00/../../../x'"),
    ("pypi", "bad/sdist-symlink-chain/planted-1.0.tar.gz", "'planted-1.0/l2'"),
    ("pypi", "bad/sdist-zip-backslash/planted-1.0.zip", r"'planted-1.0\\..\\..\\x'"),
    ("project", "bad/project-zip-links/planted.zip", "'planted/etc'"),
    ("project", "bad/project-tar-hardlink/planted.tar.gz", "'planted/passwd'"),
    ("project", "bad/project-anaconda-project-editable/planted.tar.gz", "-e git+http"),
    ("env", "bad/env-yml-index-url/environment.yml", "--index-url http://evil.invalid"),
    ("env", "bad/env-yml-line-break/environment.yml", "--extra-index-url http://evil"),
    ("env", "bad/requirements-index-url/requirements.txt", "line 1: '--index-url http"),
    ("env", "bad/requirements-option-after-requirement/requirements.txt", "-i http://evil"),
    ("env", "bad/requirements-in-direct-url/requirements.in", "planted @ http://evil"),
    ("env", "bad/explicit-option-line/conda-explicit.txt", "-e git+http://evil"),
]
#: Escapes only the repository's check sees: Python's tar filter and a lexical zip check
#: read a backslash as a letter and do not follow one link through another.
ORACLE_BLIND = {
    "bad/sdist-symlink-chain/planted-1.0.tar.gz",
    "bad/sdist-zip-backslash/planted-1.0.zip",
}


def _plain_requirement(line: str) -> bool:
    """An independent reading of "a requirement and nothing else" (``packaging``)."""
    if any(unicodedata.category(char) in ("Cc", "Zl", "Zp") for char in line):
        return False
    if any(token.startswith("-") for token in line.split()):
        return False
    return Requirement(line).url is None


def assert_safe(inspection: Inspection, path: Path, filename: str) -> None:
    """What an inspector accepted is safe by the independent judges."""
    assert escaping_members(path, filename) == []
    pip = inspection.dependencies.get("pip") or []
    assert all(_plain_requirement(line) for line in pip), pip


@st.composite
def mutations(draw: st.DrawFn, seed: bytes) -> bytes:
    data = bytearray(seed)
    for _ in range(draw(st.integers(1, 6))):
        action = draw(st.sampled_from(["flip", "truncate", "insert", "duplicate", "zero"]))
        if not data:
            break
        position = draw(st.integers(0, len(data) - 1))
        if action == "flip":
            data[position] ^= 1 << draw(st.integers(0, 7))
        elif action == "truncate":
            del data[position:]
        elif action == "insert":
            data[position:position] = draw(st.binary(min_size=1, max_size=64))
        elif action == "duplicate":
            end = min(len(data), position + draw(st.integers(1, 256)))
            data[position:position] = data[position:end]
        else:
            end = min(len(data), position + draw(st.integers(1, 64)))
            data[position:end] = bytes(end - position)
    return bytes(data)


@pytest.mark.parametrize("kind, seed_name", SEEDS, ids=[name for _, name in SEEDS])
def test_inspectors_never_crash(
    kind: str, seed_name: str, tmp_path_factory: pytest.TempPathFactory
) -> None:
    seed = (CORPUS / seed_name).read_bytes()
    work = tmp_path_factory.mktemp("fuzz")
    # The unmutated seed must be accepted, or the fuzzing proves nothing.
    inspect_file(CORPUS / seed_name, kind, seed_name, LIMITS)

    @settings(
        max_examples=budget(EXAMPLES),
        deadline=None,
        derandomize=True,
        database=None,
        suppress_health_check=list(HealthCheck),
    )
    @given(mutations(seed))
    def check(data: bytes) -> None:
        _inspect_mutation(work / "upload.part", data, kind, seed_name)

    check()


def _inspect_mutation(path: Path, data: bytes, kind: str, filename: str) -> None:
    path.write_bytes(data)
    started = time.monotonic()
    try:
        inspection = inspect_file(path, kind, filename, LIMITS)
    except RepositoryError:
        inspection = None
    assert time.monotonic() - started < 5, "an inspector took too long (a hang?)"
    if inspection is not None:
        assert_safe(inspection, path, filename)


@pytest.mark.parametrize(
    "kind, seed, quoted", BAD_SEEDS, ids=[seed.split("/")[1] for _, seed, _ in BAD_SEEDS]
)
def test_bad_seeds_are_refused_naming_what(kind: str, seed: str, quoted: str) -> None:
    path = CORPUS / seed
    with pytest.raises(InvalidInput) as refused:
        inspect_file(path, kind, path.name, LIMITS)
    assert quoted in refused.value.message, refused.value.message
    if seed.endswith((".conda", ".whl", ".zip", ".tar.gz", ".tar.bz2")) and (
        "anaconda-project" not in seed
    ):
        assert (escaping_members(path, path.name) == []) == (seed in ORACLE_BLIND)


@pytest.mark.parametrize(
    "kind, seed, _quoted", BAD_SEEDS, ids=[seed.split("/")[1] for _, seed, _ in BAD_SEEDS]
)
def test_mutated_bad_seeds_never_slip_through(
    kind: str, seed: str, _quoted: str, tmp_path_factory: pytest.TempPathFactory
) -> None:
    """A mutation may repair a hostile file or break it further; what passes is safe."""
    path = CORPUS / seed
    work = tmp_path_factory.mktemp("fuzz-bad")

    @settings(
        max_examples=budget(BAD_EXAMPLES),
        deadline=None,
        derandomize=True,
        database=None,
        suppress_health_check=list(HealthCheck),
    )
    @given(mutations(path.read_bytes()))
    def check(data: bytes) -> None:
        _inspect_mutation(work / path.name, data, kind, path.name)

    check()


@pytest.mark.parametrize(
    "check",
    [
        names.login,
        names.package,
        names.version,
        names.label,
        names.group,
        names.subdir,
        names.filename,
        names.package_type,
        names.basename,
    ],
    ids=lambda check: check.__name__,
)
@settings(max_examples=budget(300), deadline=None, derandomize=True, database=None)
@given(value=st.text(max_size=300))
def test_names_accept_or_refuse_cleanly(check: Callable[[str], object], value: str) -> None:
    try:
        result = check(value)
    except RepositoryError:
        return
    text = result if isinstance(result, str) else "/".join(p for p in result if p)
    assert ".." not in text.split("/") and "\x00" not in text and "\\" not in text
    assert not text.startswith("/")


@settings(max_examples=budget(300), deadline=None, derandomize=True, database=None)
@given(
    st.text(max_size=2000),
    st.sampled_from(["environment.yml", "requirements.txt", "spec.yaml", "explicit.txt", "x.lock"]),
)
def test_environment_specs_accept_or_refuse_cleanly(content: str, filename: str) -> None:
    try:
        spec = parse_spec(content, filename)
    except RepositoryError:
        return
    assert isinstance(spec["conda"], list) and isinstance(spec["pip"], list)
    assert all(_plain_requirement(line) for line in spec["pip"]), spec["pip"]
