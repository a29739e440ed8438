# Two commands on a fresh machine: `make run` and `make test`.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
HOST ?= 127.0.0.1
PORT ?= 8000

.PHONY: run test lint format migrate clean loadtest

$(BIN)/activate:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip

$(VENV)/.installed-runtime: pyproject.toml | $(BIN)/activate
	$(BIN)/pip install --quiet -e .
	touch $@

$(VENV)/.installed-dev: pyproject.toml | $(BIN)/activate
	$(BIN)/pip install --quiet -e '.[dev]'
	touch $@ $(VENV)/.installed-runtime

$(VENV)/.installed-loadtest: pyproject.toml | $(BIN)/activate
	$(BIN)/pip install --quiet -e '.[loadtest]'
	touch $@ $(VENV)/.installed-runtime

## Migrate the database (embedded SQLite unless DATABASE_URL is set), make sure an admin exists
## (a first one's password goes to ./.local-admin) and serve on 127.0.0.1:8000.
run: $(VENV)/.installed-runtime
	$(BIN)/alembic upgrade head
	$(BIN)/python -m api.cli ensure-local-admin
	@echo "Log in with Authorize on http://$(HOST):$(PORT)/docs, or POST http://$(HOST):$(PORT)/api/v1/auth/login"
	@echo "with {\"username\": \"admin\", \"password\": <the password in .local-admin>}."
	$(BIN)/uvicorn api.main:app --host $(HOST) --port $(PORT)

## Run the whole suite on PostgreSQL, then again on SQLite.
test: $(VENV)/.installed-dev
	bash scripts/test.sh

## ruff check, ruff format --check, mypy --strict.
lint: $(VENV)/.installed-dev
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy .

format: $(VENV)/.installed-dev
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

migrate: $(VENV)/.installed-runtime
	$(BIN)/alembic upgrade head

clean:
	rm -rf $(VENV) .mypy_cache .ruff_cache .pytest_cache cronjobs.db cronjobs.db-wal cronjobs.db-shm

## Load test: async vs sync baseline vs asyncpg ceiling on a fresh PostgreSQL database (about
## 20 minutes; ARGS=--quick for under 5). Writes loadtest/results/report.md and rps.png.
loadtest: $(VENV)/.installed-loadtest
	pg_url=$$(bash scripts/ensure_postgres.sh) && trap 'bash scripts/ensure_postgres.sh --stop' EXIT && \
		TEST_DATABASE_URL="$$pg_url" $(BIN)/python -m loadtest.run $(ARGS)
