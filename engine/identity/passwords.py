"""Password hashing with argon2id (argon2-cffi), and the check of a login.

Parameters: OWASP's argon2id minimum (19 MiB, 2 iterations, parallelism 1), about 50-100 ms per hash on a small
server. Each stored hash carries its own parameters and salt, so raising them later needs no migration (old
hashes still verify). A successful check is remembered for a short while (``VerifiedCache``): HTTP Basic sends the
password with every REST request, and a 50 ms hash per request would be most of the engine's time. Wrong
passwords are never cached, so guessing always pays the full hash."""

from __future__ import annotations

import hashlib
import hmac
import secrets
import threading
import time
from typing import Any

from argon2 import PasswordHasher, Type
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

DEFAULT_HASHER = PasswordHasher(time_cost=2, memory_cost=19456, parallelism=1, hash_len=32, salt_len=16,
                                type=Type.ID)


class Passwords:
    """Hash and verify passwords; ``verify`` of an unknown user (``stored=None``) spends the same time on a dummy
    hash, so timing does not tell which login names exist."""

    def __init__(self, hasher: PasswordHasher | None = None, *, cache_seconds: float = 300.0,
                 cache_size: int = 10_000) -> None:
        self.hasher = hasher or DEFAULT_HASHER
        self._dummy: str | None = None
        self._lock = threading.Lock()
        self._key = secrets.token_bytes(32)  # the cache holds HMACs under a per-process key, never passwords
        self._verified: dict[tuple[str, str], tuple[bytes, float]] = {}
        self.cache_seconds = cache_seconds
        self.cache_size = cache_size

    def hash(self, password: str) -> str:
        return self.hasher.hash(password)

    def _dummy_hash(self) -> str:
        if self._dummy is None:
            self._dummy = self.hasher.hash(secrets.token_urlsafe(16))
        return self._dummy

    def _mac(self, user_id: str, password: str) -> bytes:
        return hmac.new(self._key, f"{user_id}\0{password}".encode(), hashlib.sha256).digest()

    def verify(self, user_id: str, stored: str | None, password: str) -> bool:
        """True when ``password`` matches ``stored``; ``stored=None`` (no such user, or not allowed in) verifies
        against a dummy hash and is False."""
        if stored is None:
            self._check(self._dummy_hash(), password)
            return False
        mac = self._mac(user_id, password)
        with self._lock:
            hit = self._verified.get((user_id, stored))
        if hit is not None and hit[1] > time.monotonic() and hmac.compare_digest(hit[0], mac):
            return True
        if not self._check(stored, password):
            return False
        with self._lock:
            if len(self._verified) >= self.cache_size:
                self._verified.clear()
            self._verified[(user_id, stored)] = (mac, time.monotonic() + self.cache_seconds)
        return True

    def _check(self, stored: str, password: str) -> bool:
        try:
            return bool(self.hasher.verify(stored, password))
        except (VerifyMismatchError, VerificationError, InvalidHashError):
            return False

    def forget(self, user_id: str) -> None:
        """Drop the remembered logins of ``user_id`` (its password changed or it was deactivated)."""
        with self._lock:
            for key in [k for k in self._verified if k[0] == user_id]:
                del self._verified[key]


def is_argon2(value: Any) -> bool:
    return isinstance(value, str) and value.startswith("$argon2id$")
