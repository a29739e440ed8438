#!/usr/bin/env bash
# The whole suite on PostgreSQL, then again on SQLite. Extra arguments go to both pytest runs.
set -euo pipefail
cd "$(dirname "$0")/.."

pg_url=$(bash scripts/ensure_postgres.sh)
trap 'bash scripts/ensure_postgres.sh --stop' EXIT

echo "== PostgreSQL: $pg_url"
TEST_DATABASE_URL="$pg_url" .venv/bin/pytest "$@"

echo "== SQLite"
TEST_DATABASE_URL="sqlite+aiosqlite://" .venv/bin/pytest "$@"
