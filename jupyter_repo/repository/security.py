"""Secrets: password hashing with Argon2id, access-token generation and hashing.

Tokens carry 256 bits of randomness, so a plain SHA-256 of the token is enough to store
them safely (a slow KDF protects low-entropy secrets such as passwords, not random keys).
Tokens use only ``[A-Za-z0-9-]`` so that conda and rattler can carry them in ``/t/<token>/``.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from functools import cache

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

TOKEN_PREFIX = "jr-"
_ALPHABET = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"
_hasher = PasswordHasher()


@cache
def _dummy_hash() -> str:
    """Verifying against this keeps the time of "no such user" equal to "wrong password".

    Made at the first verification (an Argon2 hash is a fifth of a second of CPU by design),
    not at import: every process and CLI that imports this module would pay it otherwise."""
    return _hasher.hash("jupyter-repo-dummy-password")


def hash_password(password: str) -> str:
    return _hasher.hash(password)


def verify_password(password_hash: str | None, password: str) -> bool:
    dummy = _dummy_hash()  # made before either branch, so the first call of each is alike
    try:
        return _hasher.verify(password_hash or dummy, password) and bool(password_hash)
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        return False


def new_token() -> str:
    """A fresh secret token: ``jr-`` + 43 base62 characters (about 256 bits)."""
    return TOKEN_PREFIX + "".join(secrets.choice(_ALPHABET) for _ in range(43))


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def new_id(nbytes: int = 12) -> str:
    """A short random identifier for public ids (token ids, upload ids)."""
    return secrets.token_hex(nbytes)


def looks_like_token(value: str) -> bool:
    return 8 <= len(value) <= 200 and all(ch in _ALPHABET or ch == "-" for ch in value)


def constant_time_equal(a: str, b: str) -> bool:
    return hmac.compare_digest(a.encode(), b.encode())
