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


class SecretBox:
    def __init__(self, keys: Sequence[str]) -> None:
        self._fernet = MultiFernet([Fernet(key) for key in keys])

    def encrypt(self, plaintext: str) -> str:
        return self._fernet.encrypt(plaintext.encode()).decode("ascii")

    def decrypt(self, token: str) -> str:
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
