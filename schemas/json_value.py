"""JSON values that can be stored and sent on: every string storable (`schemas/text.py`) and
every number finite. Python's JSON parser accepts `NaN`, `Infinity` and `1e400` (read as
infinity), which are not JSON: PostgreSQL refuses them and no target could read them back.

`JsonObject` is the type of any free-form JSON object a request carries (job `metadata` on
create, update, CSV import, test-run and manual run); `api/routing.py` refuses non-finite
numbers in every JSON body already when it is parsed, naming the exact path.
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterator
from typing import Annotated, Any

from pydantic import AfterValidator, JsonValue

from schemas.text import storable_json

# The size of a job's `metadata` as compact UTF-8 JSON: it is sent with every run and
# returned in every listing, so it stays small next to MAX_REQUEST_BYTES.
METADATA_MAX_BYTES = 64 * 1024


def non_finite_paths(
    value: Any, path: tuple[str | int, ...] = ()
) -> Iterator[tuple[str | int, ...]]:
    """Where `value` holds NaN or an infinity, as paths of keys and indexes."""
    if isinstance(value, float) and not math.isfinite(value):
        yield path
    elif isinstance(value, dict):
        for key, item in value.items():
            yield from non_finite_paths(item, (*path, key))
    elif isinstance(value, list):
        for index, item in enumerate(value):
            yield from non_finite_paths(item, (*path, index))


def finite_json(value: Any) -> Any:
    for path in non_finite_paths(value):
        where = ".".join(str(part) for part in path)
        raise ValueError(
            f"must hold only finite numbers (JSON has no NaN or Infinity); see {where}"
        )
    return value


def _within_metadata_cap(value: dict[str, Any]) -> dict[str, Any]:
    size = len(json.dumps(value, ensure_ascii=False, separators=(",", ":")).encode())
    if size > METADATA_MAX_BYTES:
        raise ValueError(
            f"must be at most {METADATA_MAX_BYTES:,} bytes as JSON, not {size:,} bytes"
        )
    return value


JsonObject = Annotated[
    dict[str, JsonValue], AfterValidator(finite_json), AfterValidator(storable_json)
]
Metadata = Annotated[JsonObject, AfterValidator(_within_metadata_cap)]
