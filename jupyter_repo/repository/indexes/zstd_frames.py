"""One zstd frame stitched from pieces compressed one by one, so a change recompresses a piece.

Clients (rattler, conda, mamba) read only the first frame of ``repodata.json.zst``, so the
document must be a single frame; compressing a million-record document whole takes both cores
for about a second. Instead every piece (a header, or one block of package names) is
compressed on its own, once, and the frame is made by joining the pieces' blocks.

That is valid zstd because a piece compressed alone refers to nothing before it: its matches
stay inside it, and its first block defines its own literal and sequence tables. The one state
a zstd decoder carries from block to block that such a piece does assume is the repeat-offset
history, which starts a frame as ``1, 4, 8``. :data:`SEPARATOR` and :data:`COMMA_SEPARATOR` are
two hand-made compressed blocks that reset it: they write whitespace (or a comma and
whitespace) with three matches at offsets 8, 4 and 1, leaving the history at ``1, 4, 8``.
The plain document carries the same whitespace between the same pieces, so the frame
decompresses to exactly ``repodata.json`` (JSON allows whitespace between tokens).

Format references: RFC 8878 (sections 3.1.1 frames, 3.1.1.3 blocks, 3.1.1.3.2 sequences).
"""

from __future__ import annotations

import struct
import sys
from collections.abc import Iterable, Sequence

if sys.version_info >= (3, 14):
    from compression import zstd
else:
    from backports import zstd

MAGIC = b"\x28\xb5\x2f\xfd"
#: The largest window a decoder accepts without being told to (``ZSTD_WINDOWLOG_LIMIT_DEFAULT``).
MAX_WINDOW_LOG = 27
MIN_WINDOW_LOG = 20
_COMPRESSED = 2
_LAST = 1

#: Whitespace the separators write (bytes of ``SEPARATOR_TEXT``): 8 literal spaces, then
#: three matches of 3 bytes at offsets 8, 4 and 1.
SEPARATOR_TEXT = b" " * 17
COMMA_SEPARATOR_TEXT = b"," + SEPARATOR_TEXT


def _block(content: bytes) -> bytes:
    """A compressed block's 3-byte header (not last) and content."""
    return struct.pack("<I", (len(content) << 3) | (_COMPRESSED << 1))[:3] + content


def _separator(literals: bytes) -> bytes:
    """Two blocks writing ``literals`` (8 spaces at their end) and 9 more spaces, leaving the
    repeat offsets at 1, 4, 8 (most recent first), as at the start of a frame."""
    assert 8 <= len(literals) < 16 and literals.endswith(b" " * 8)
    # RLE mode for the literal-length, offset and match-length codes: 0b01_01_01_00.
    rle = 0x54
    # Block 1: raw literals; one sequence: literal length len(literals) (code = length),
    # offset 8 (offset value 11: code 3 + 3 extra bits "011"), match length 3 (code 0). The
    # bitstream holds the 3 extra bits, then the end mark: 0b1_011.
    first = bytes([len(literals) << 3]) + literals + bytes([1, rle, len(literals), 3, 0, 0x0B])
    # Block 2: no literals; two sequences of match length 3 at offsets 4 (offset value 7: code
    # 2, extra "11") and 1 (offset value 4: code 2, extra "00"). The last sequence's bits come
    # first in the stream: 0b1_11_00.
    second = bytes([0, 2, rle, 0, 2, 0, 0x1C])
    return _block(first) + _block(second)


SEPARATOR = _separator(b" " * 8)
COMMA_SEPARATOR = _separator(b"," + b" " * 8)
#: The last block of a frame: empty, raw, flagged last.
END = struct.pack("<I", _LAST)[:3]


def compress_piece(data: bytes | Sequence[bytes], level: int) -> bytes:
    """The blocks of ``data`` (bytes, or pieces of one text) compressed alone: a frame
    without its header, none flagged last."""
    if isinstance(data, bytes):
        return _blocks_of(zstd.compress(data, level=level))
    compressor = zstd.ZstdCompressor(level=level)
    parts = [compressor.compress(piece) for piece in data]
    parts.append(compressor.flush(zstd.ZstdCompressor.FLUSH_FRAME))
    return _blocks_of(b"".join(parts))


def _blocks_of(frame: bytes) -> bytes:
    if frame[:4] != MAGIC:
        raise ValueError("not a zstd frame")
    descriptor = frame[4]
    fcs_flag, single_segment = descriptor >> 6, (descriptor >> 5) & 1
    checksum, dictionary = (descriptor >> 2) & 1, descriptor & 3
    if dictionary:
        raise ValueError("a piece must not use a dictionary")
    position = 5 + (0 if single_segment else 1) + (0, 1, 2, 4)[dictionary]
    position += (1 if single_segment else 0, 2, 4, 8)[fcs_flag]
    start = position
    last_header = -1
    while True:
        header = int.from_bytes(frame[position : position + 3], "little")
        block_type, size = (header >> 1) & 3, header >> 3
        last_header = position
        position += 3 + (1 if block_type == 1 else size)
        if header & _LAST:
            break
    if len(frame) != position + (4 if checksum else 0):
        raise ValueError("trailing bytes after a zstd frame")
    blocks = bytearray(frame[start:position])
    blocks[last_header - start] &= 0xFE  # the frame goes on after this piece
    return bytes(blocks)


def window_log(largest_piece: int) -> int:
    """The window a frame declares: every match of a piece stays inside the piece."""
    log = MIN_WINDOW_LOG
    while (1 << log) < largest_piece:
        log += 1
    if log > MAX_WINDOW_LOG:
        raise ValueError(f"a piece of {largest_piece} bytes is too large for one window")
    return log


def frame(
    compressed: Iterable[bytes], separators: Iterable[bytes], content_size: int, log: int
) -> list[bytes]:
    """A frame as pieces: header, then each compressed piece after its separator (the first
    piece has none: ``separators`` is one shorter), then the last block."""
    header = MAGIC + bytes([0xC0, (log - 10) << 3]) + struct.pack("<Q", content_size)
    result = [header]
    pieces = iter(compressed)
    first = next(pieces, None)
    if first is not None:
        result.append(first)
        for separator, piece in zip(separators, pieces, strict=True):
            result.append(separator)
            result.append(piece)
    result.append(END)
    return result


def plain(pieces: Sequence[bytes], separators: Sequence[bytes]) -> list[bytes]:
    """The plain text of :func:`frame`: the same pieces with the separators' text between."""
    result = list(pieces[:1])
    for separator, piece in zip(separators, pieces[1:], strict=True):
        result.append(separator)
        result.append(piece)
    return result
