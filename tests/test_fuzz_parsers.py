"""Fuzzing every parser of user input with hypothesis, from a committed seed corpus.

Each inspector must either accept a mutated file or refuse it with a repository error
(a clear 4xx for the server) — never crash, hang or allocate without bound. The budget is
fixed (examples per parser, derandomized), so CI runs the same cases every time.
"""

from __future__ import annotations

import contextlib
import time
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from jupyter_repo.repository import names
from jupyter_repo.repository.errors import RepositoryError
from jupyter_repo.repository.inspect import Limits, inspect_file
from jupyter_repo.repository.inspect.envspec import parse_spec

CORPUS = Path(__file__).with_name("fuzz_corpus")
EXAMPLES = 150
LIMITS = Limits(max_inflate_bytes=8 << 20, max_member_bytes=1 << 20,
                max_archive_members=2000, max_parse_bytes=4 << 20)

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
def test_inspectors_never_crash(kind: str, seed_name: str, tmp_path_factory: pytest.TempPathFactory
                                ) -> None:
    seed = (CORPUS / seed_name).read_bytes()
    work = tmp_path_factory.mktemp("fuzz")
    # The unmutated seed must be accepted, or the fuzzing proves nothing.
    inspect_file(CORPUS / seed_name, kind, seed_name, LIMITS)

    @settings(max_examples=EXAMPLES, deadline=None, derandomize=True, database=None,
              suppress_health_check=list(HealthCheck))
    @given(mutations(seed))
    def check(data: bytes) -> None:
        path = work / "upload.part"
        path.write_bytes(data)
        started = time.monotonic()
        with contextlib.suppress(RepositoryError):
            inspect_file(path, kind, seed_name, LIMITS)
        assert time.monotonic() - started < 5, "an inspector took too long (a hang?)"

    check()


@settings(max_examples=300, deadline=None, derandomize=True, database=None)
@given(st.text(max_size=300))
def test_names_accept_or_refuse_cleanly(value: str) -> None:
    for check in (names.login, names.package, names.version, names.label, names.group,
                  names.subdir, names.filename, names.package_type, names.basename):
        try:
            result = check(value)
        except RepositoryError:
            continue
        text = result if isinstance(result, str) else "/".join(p for p in result if p)
        assert ".." not in text.split("/") and "\x00" not in text and "\\" not in text
        assert not text.startswith("/")


@settings(max_examples=300, deadline=None, derandomize=True, database=None)
@given(st.text(max_size=2000), st.sampled_from(["environment.yml", "requirements.txt",
                                                 "spec.yaml", "explicit.txt", "x.lock"]))
def test_environment_specs_accept_or_refuse_cleanly(content: str, filename: str) -> None:
    try:
        spec = parse_spec(content, filename)
    except RepositoryError:
        return
    assert isinstance(spec["conda"], list) and isinstance(spec["pip"], list)
