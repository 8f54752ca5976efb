"""``repodata.json.zst`` is one zstd frame stitched from pieces compressed one by one.

A change recompresses only the blocks of package names it touched, so the frame must stay
valid however pieces are joined: checked here against libzstd (one-shot and streamed in small
reads, as HTTP clients read) with pieces built to use repeat offsets, and through a real
server with enough package names for many blocks, read by py-rattler.
"""

from __future__ import annotations

import io
import json
import uuid
from pathlib import Path

import pytest
import requests
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from jupyter_repo.repository.indexes import zstd_frames
from tests.support import publish
from tests.support.fuzzing import budget
from tests.support.rattler_client import run_rattler
from tests.support.server import RepoServer

try:
    from compression import zstd  # type: ignore[import-not-found]
except ImportError:
    from backports import zstd  # type: ignore[no-redef]

# Runs of one byte and repeated words make libzstd use repeat offsets in a piece's first
# block: exactly what a wrong history at a piece boundary would break.
_TEXT = st.lists(
    st.one_of(
        st.binary(max_size=64),
        st.builds(
            lambda byte, count: bytes([byte]) * count, st.integers(0, 255), st.integers(1, 300)
        ),
        st.sampled_from([b'"depends":[', b"0000", b'"sha256":"', b"libgcc-ng >=12", b"\\\\"]),
    ),
    max_size=60,
).map(b"".join)


@settings(max_examples=budget(300), deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    pieces=st.lists(_TEXT, min_size=1, max_size=12),
    commas=st.lists(st.booleans(), min_size=12, max_size=12),
    level=st.sampled_from([-5, 1, 3, 9]),
)
def test_stitched_frame_decompresses_to_the_plain_text(
    pieces: list[bytes], commas: list[bool], level: int
) -> None:
    separators = [zstd_frames.COMMA_SEPARATOR if c else zstd_frames.SEPARATOR for c in commas]
    texts = [zstd_frames.COMMA_SEPARATOR_TEXT if c else zstd_frames.SEPARATOR_TEXT for c in commas]
    plain = b"".join(zstd_frames.plain(pieces, texts[: len(pieces) - 1]))
    frame = b"".join(
        zstd_frames.frame(
            [zstd_frames.compress_piece(piece, level) for piece in pieces],
            separators[: len(pieces) - 1],
            len(plain),
            zstd_frames.window_log(max(len(piece) for piece in pieces)),
        )
    )
    assert zstd.decompress(frame) == plain
    streamed = io.BytesIO()
    with zstd.ZstdFile(io.BytesIO(frame)) as reader:
        while chunk := reader.read(1000):
            streamed.write(chunk)
    assert streamed.getvalue() == plain


def test_a_piece_too_large_for_a_window_is_refused() -> None:
    with pytest.raises(ValueError, match="too large"):
        zstd_frames.window_log((1 << zstd_frames.MAX_WINDOW_LOG) + 1)


def test_many_blocks_decompress_to_repodata_and_rattler_reads_them(
    server: RepoServer, tmp_path: Path
) -> None:
    """About 200 package names make several document blocks; after one more upload the
    recompressed frame (old blocks reused, one block new) still reads as ``repodata.json``."""
    owner = server.create_user(f"zf{uuid.uuid4().hex[:8]}")
    token = server.token(owner)
    names = [f"zfpkg-{index:03d}" for index in range(200)]
    files = {
        name: publish.conda(server, token, owner, tmp_path, name, "1.0", subdir="noarch")
        for name in names
    }
    base = f"{server.url}/conda/{owner}/noarch"

    def documents() -> tuple[bytes, bytes]:
        plain = requests.get(f"{base}/repodata.json", timeout=60)
        packed = requests.get(f"{base}/repodata.json.zst", timeout=60)
        assert plain.status_code == packed.status_code == 200
        return plain.content, packed.content

    plain, packed = documents()
    assert zstd.decompress(packed) == plain
    listed = json.loads(plain)
    assert set(listed["packages"]) | set(listed["packages.conda"]) == {
        path.name for path in files.values()
    }
    # Separators between blocks: the document has more than a couple of pieces.
    assert plain.count(zstd_frames.COMMA_SEPARATOR_TEXT) >= 2

    newer = publish.conda(server, token, owner, tmp_path, names[117], "2.0", subdir="noarch")
    plain, packed = documents()
    assert zstd.decompress(packed) == plain
    listed = json.loads(plain)
    assert newer.name in set(listed["packages"]) | set(listed["packages.conda"])

    prefix = tmp_path / "prefix"
    cases = [
        {
            "channels": [f"{server.url}/conda/{owner}"],
            "specs": [f"{names[117]} >=2"],
            "prefix": str(prefix),
            "sharded": False,
            "zstd": True,
        }
    ]
    result = run_rattler(cases, tmp_path / "cache")[0]
    assert result["ok"], result
    assert result["installed"][names[117]] == "2.0"
