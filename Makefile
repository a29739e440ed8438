# Two commands on a fresh machine: `make run` and `make test`.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
HOST ?= 127.0.0.1
PORT ?= 8000

.PHONY: run test lint format migrate clean

$(BIN)/activate:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip

$(VENV)/.installed-runtime: pyproject.toml | $(BIN)/activate
	$(BIN)/pip install --quiet -e .
	touch $@

$(VENV)/.installed-dev: pyproject.toml | $(BIN)/activate
	$(BIN)/pip install --quiet -e '.[dev]'
	touch $@ $(VENV)/.installed-runtime

## Migrate the database (embedded SQLite unless DATABASE_URL is set) and serve on 127.0.0.1:8000.
run: $(VENV)/.installed-runtime
	$(BIN)/alembic upgrade head
	@echo "To log in: create an admin once with '$(BIN)/python -m api.cli create-admin --username admin --email admin@example.com'"
	@echo "(or set ADMIN_USERNAME, ADMIN_EMAIL and ADMIN_PASSWORD), then use Authorize on http://$(HOST):$(PORT)/docs"
	@echo "or POST http://$(HOST):$(PORT)/api/v1/auth/login with {\"username\": ..., \"password\": ...}."
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
