"""Slugs: the stable, URL-safe keys of categories and teams (`Data Jobs` → `data-jobs`)."""

from __future__ import annotations

import re
import unicodedata

SLUG_MAX_LENGTH = 100
SLUG_PATTERN = re.compile(r"[a-z0-9]+(?:-[a-z0-9]+)*")
_NOT_ALPHANUMERIC = re.compile(r"[^a-z0-9]+")


def slugify(value: str, max_length: int = SLUG_MAX_LENGTH) -> str:
    """Lower-case ASCII letters and digits joined by single hyphens; "" when none remain.

    Accents are dropped (`Café` → `cafe`); other characters separate words.
    """
    ascii_text = unicodedata.normalize("NFKD", value).encode("ascii", "ignore").decode("ascii")
    slug = _NOT_ALPHANUMERIC.sub("-", ascii_text.lower()).strip("-")
    return slug[:max_length].rstrip("-")
