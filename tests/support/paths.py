"""Where things are, from the tests' point of view (test files move between folders; these
do not)."""

from __future__ import annotations

from pathlib import Path

#: The checkout: pyproject.toml, docs/, binder/, scripts/, labextension/ ...
ROOT = Path(__file__).resolve().parents[2]
TESTS = ROOT / "tests"
#: The committed seed corpus of the fuzz tests, and the hostile files of ``bad/``.
FUZZ_CORPUS = TESTS / "fuzz_corpus"
