"""Print the service's OpenAPI schema as JSON, without a server or a database.

    python -m api.openapi_export > frontend/openapi.json

The dashboard's typed client is generated from this output (`make client`).
"""

from __future__ import annotations

import json
import sys

from api.main import create_app
from core.config import Settings


def export_schema() -> str:
    # Default settings: the schema does not depend on configuration, and no `.env` is read.
    app = create_app(Settings(_env_file=None))
    return json.dumps(app.openapi(), indent=2, sort_keys=True) + "\n"


if __name__ == "__main__":
    sys.stdout.write(export_schema())
