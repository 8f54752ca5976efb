"""JSON from outside (request bodies, files inside uploads), parsed within bounds.

Python's ``json`` accepts nesting until the interpreter's recursion limit (a
``RecursionError``, which is not a ``ValueError``, so callers that caught only parse errors
answered 500 with a traceback), integers of thousands of digits and the non-standard
``NaN`` / ``Infinity``, and escapes that make strings no database accepts: ``"\\ud800"`` (a
lone UTF-16 surrogate, which cannot be encoded) and ``"\\u0000"`` (NUL, which PostgreSQL's
text and jsonb refuse); a value that parses can still be too deep for the code
that walks it later (serialising it again, validating it, rendering it). Everything parsed
here is refused
with one :class:`JSONRefused` (a ``ValueError`` with a message for the user) when it breaks
any of these bounds, so each caller turns it into its own 400.

Used by the repository server, the inspectors of uploaded files and the Jupyter extension;
it depends on nothing else in the package.
"""

from __future__ import annotations

import json
import math
import re
from typing import Any

#: Default nesting limit of objects and arrays: no request body or package metadata here
#: needs more than a handful of levels.
MAX_DEPTH = 64
#: Longest number literal accepted (digits, sign, point and exponent).
MAX_NUMBER_LENGTH = 100
#: Escapes of a UTF-16 surrogate or of NUL: the only way JSON text can make such strings
#: (raw control characters are invalid JSON, raw surrogates invalid UTF-8).
_SUSPECT_ESCAPE = re.compile(r"\\u(?:[dD][89a-fA-F][0-9a-fA-F]{2}|0000)")


class JSONRefused(ValueError):
    """The text is not JSON, or is JSON outside the bounds; ``str()`` says which."""


def loads(data: bytes | str, *, max_depth: int = MAX_DEPTH) -> Any:
    """Parse ``data`` like :func:`json.loads`, refusing what lies outside the bounds."""
    try:
        # Strictly decoded (json.loads would let encoded surrogates through).
        text = data.decode(json.detect_encoding(data)) if isinstance(data, bytes) else data
        value = json.loads(text, parse_int=_integer, parse_float=_real, parse_constant=_constant)
    except RecursionError:
        raise JSONRefused(f"it is nested more than {max_depth} levels deep") from None
    except JSONRefused:
        raise
    except (ValueError, UnicodeDecodeError) as error:  # JSONDecodeError is a ValueError
        raise JSONRefused(str(error)) from None
    if text.count("[") + text.count("{") > max_depth:
        check_depth(value, max_depth)  # only text with that many brackets can be that deep
    if _SUSPECT_ESCAPE.search(text):
        _check_strings(value)  # surrogate pairs are fine: only lone ones are refused
    return value


def check_depth(value: Any, max_depth: int = MAX_DEPTH) -> None:
    """Refuse a parsed value with objects or arrays nested deeper than ``max_depth``.

    Level by level rather than recursive, so it cannot itself run out of stack; linear in
    the number of objects and arrays.
    """
    level = [value] if isinstance(value, (dict, list)) else []
    depth = 0
    while level:
        depth += 1
        if depth > max_depth:
            raise JSONRefused(f"it is nested more than {max_depth} levels deep")
        deeper: list[Any] = []
        for item in level:
            deeper += [
                child
                for child in (item.values() if isinstance(item, dict) else item)
                if isinstance(child, (dict, list))
            ]
        level = deeper


def _check_strings(value: Any) -> None:
    """Refuse NUL or a lone UTF-16 surrogate in any key or string (after :func:`check_depth`)."""
    pending = [value]
    while pending:
        item = pending.pop()
        if isinstance(item, dict):
            pending.extend(item.keys())
            pending.extend(item.values())
        elif isinstance(item, list):
            pending.extend(item)
        elif isinstance(item, str):
            if "\x00" in item:
                raise JSONRefused("a string holds a NUL character (\\u0000)")
            try:
                item.encode("utf-8")
            except UnicodeEncodeError:
                raise JSONRefused(
                    "a string holds a lone UTF-16 surrogate (\\ud800-\\udfff), "
                    "which is not a character"
                ) from None


def _number_text(text: str) -> str:
    if len(text) > MAX_NUMBER_LENGTH:
        raise JSONRefused(f"a number is longer than {MAX_NUMBER_LENGTH} characters")
    return text


def _integer(text: str) -> int:
    return int(_number_text(text))


def _real(text: str) -> float:
    value = float(_number_text(text))
    if not math.isfinite(value):
        raise JSONRefused(f"the number {text} is out of range")
    return value


def _constant(name: str) -> Any:
    raise JSONRefused(f"{name} is not a JSON value")
