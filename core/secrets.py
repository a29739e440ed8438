"""Secrets stored in the database (secret job headers, webhook signing secrets), encrypted.

Fernet (AES-128-CBC + HMAC-SHA256, from `cryptography`) with the keys of `SECRETS_KEY`: the
first key encrypts, every key decrypts (MultiFernet), so a key is rotated by putting a new one
first, re-encrypting (`python -m api.cli reencrypt-secrets`), then dropping the old one. A
stored value is a Fernet token (`gAAAA...`); the plaintext never reaches the database.
"""

from __future__ import annotations

from collections.abc import Sequence
from functools import lru_cache

from cryptography.fernet import Fernet, InvalidToken, MultiFernet

from core.config import Settings


class SecretUnreadable(Exception):
    """A stored secret that none of the SECRETS_KEY keys decrypts (a key was dropped)."""


# Tokens whose plaintext a box keeps: a scheduler signs every call of a job with the same
# secret, and a Fernet decryption (HMAC check + AES) cost about as much as the rest of
# preparing the call. It exposes nothing new: the process holds the keys that open them all.
DECRYPTED_CACHE_SIZE = 16384


class SecretBox:
    def __init__(self, keys: Sequence[str]) -> None:
        self._fernet = MultiFernet([Fernet(key) for key in keys])
        self._decrypted: dict[str, str] = {}

    def encrypt(self, plaintext: str) -> str:
        return self._fernet.encrypt(plaintext.encode()).decode("ascii")

    def decrypt(self, token: str) -> str:
        plaintext = self._decrypted.get(token)
        if plaintext is None:
            plaintext = self._open(token)
            if len(self._decrypted) >= DECRYPTED_CACHE_SIZE:
                self._decrypted.clear()
            self._decrypted[token] = plaintext
        return plaintext

    def _open(self, token: str) -> str:
        try:
            return self._fernet.decrypt(token.encode("ascii")).decode()
        except (InvalidToken, UnicodeError):
            raise SecretUnreadable(
                "a stored secret cannot be decrypted with any key of SECRETS_KEY"
            ) from None

    def reencrypt(self, token: str) -> str:
        """The same secret encrypted with the first key (for key rotation)."""
        try:
            return self._fernet.rotate(token.encode("ascii")).decode("ascii")
        except (InvalidToken, UnicodeError):
            raise SecretUnreadable(
                "a stored secret cannot be decrypted with any key of SECRETS_KEY"
            ) from None


def secret_box(settings: Settings) -> SecretBox:
    return _box(tuple(key.get_secret_value() for key in settings.secrets_key))


@lru_cache(maxsize=8)
def _box(keys: tuple[str, ...]) -> SecretBox:
    return SecretBox(keys)
