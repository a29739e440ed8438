# Two commands on a fresh machine: `make run` and `make test`.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
HOST ?= 127.0.0.1
PORT ?= 8000

.PHONY: run test lint format migrate clean loadtest frontend client client-check frontend-lint \
	frontend-test e2e chromium screenshots figures

# The dashboard: `npm ci` when node_modules is missing or older than the lock, a build when any
# source is newer than it.
FRONTEND_SOURCES := $(shell find frontend/src frontend/public -type f 2>/dev/null) \
	frontend/index.html frontend/vite.config.ts frontend/tsconfig.json frontend/package.json
NPM_MISSING := npm was not found: install Node.js 20 (or newer) with npm, then run this again

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
	@if command -v npm >/dev/null 2>&1; then $(MAKE) --no-print-directory frontend; else \
		echo "*** $(NPM_MISSING) to get the dashboard; the API is served without it."; fi
	$(BIN)/alembic upgrade head
	$(BIN)/python -m api.cli ensure-local-admin
	@echo "Dashboard: http://$(HOST):$(PORT)/ (user admin, password in .local-admin)"
	@echo "Or log in with Authorize on http://$(HOST):$(PORT)/docs, or POST http://$(HOST):$(PORT)/api/v1/auth/login"
	@echo "with {\"username\": \"admin\", \"password\": <the password in .local-admin>}."
	$(BIN)/uvicorn api.main:app --host $(HOST) --port $(PORT)

## The Python suite on PostgreSQL, then on SQLite; the dashboard's unit tests; the e2e suite.
test: $(VENV)/.installed-dev
	bash scripts/test.sh
	$(MAKE) --no-print-directory frontend-test
	$(MAKE) --no-print-directory e2e

## ruff check, ruff format --check, mypy --strict; the dashboard's Biome and tsc; the client check.
lint: $(VENV)/.installed-dev frontend-lint client-check
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy .

frontend/node_modules/.installed: frontend/package-lock.json
	@command -v npm >/dev/null 2>&1 || { echo "*** $(NPM_MISSING)."; exit 1; }
	cd frontend && npm ci
	touch $@

frontend/dist/index.html: $(FRONTEND_SOURCES) frontend/node_modules/.installed
	cd frontend && npm run build

## Build the dashboard into frontend/dist (served at / by the API).
frontend: frontend/dist/index.html

## Regenerate frontend/openapi.json and the typed client from the service's own schema.
client: $(VENV)/.installed-runtime frontend/node_modules/.installed
	$(BIN)/python -m api.openapi_export > frontend/openapi.json
	cd frontend && npm run --silent generate-client

## Fail when the committed client does not match the current schema (frontend/openapi.json is only
## make client's intermediate, git-ignored: a fresh clone has none, so it is not compared).
client-check: $(VENV)/.installed-dev frontend/node_modules/.installed
	@tmp=$$(mktemp -d) && trap 'rm -rf "$$tmp"' EXIT && \
	$(BIN)/python -m api.openapi_export > "$$tmp/openapi.json" && \
	(cd frontend && npx --no-install openapi-typescript "$$tmp/openapi.json" -o "$$tmp/schema.gen.ts" >/dev/null) && \
	if cmp -s "$$tmp/schema.gen.ts" frontend/src/api/schema.gen.ts; \
	then echo "client-check: the dashboard's API client matches the schema"; \
	else echo "*** The API changed: the dashboard's client is out of date. Run 'make client' and commit the result."; exit 1; fi

frontend-lint: frontend/node_modules/.installed
	cd frontend && npm run --silent lint

frontend-test: frontend/node_modules/.installed
	cd frontend && npm test

## Debian's Chromium for the e2e suite (Playwright never downloads a browser here).
chromium:
	@test -x /usr/bin/chromium || { apt-get update && apt-get install -y chromium; }

## Playwright in Chromium against a real server process on a fresh PostgreSQL database.
## Traces and screenshots of failures go to frontend/test-results/ (git-ignored).
E2E_CONFIG ?= playwright.config.ts
e2e: $(VENV)/.installed-dev frontend/dist/index.html chromium
	pg_url=$$(bash scripts/ensure_postgres.sh) && trap 'bash $(CURDIR)/scripts/ensure_postgres.sh --stop' EXIT && \
		cd frontend && TEST_DATABASE_URL="$$pg_url" npx --no-install playwright test -c $(E2E_CONFIG) $(ARGS)

## The README's screenshots of the main pages (docs/screenshots/), taken by the e2e suite.
screenshots:
	E2E_SCREENSHOTS=1 $(MAKE) --no-print-directory e2e ARGS=tour.spec.ts

## docs/dashboard-figures.md: initial JavaScript (gzip), the jobs page with 1,000 jobs in headless
## Chromium, and the wall time of the e2e suite (measured here around `make e2e`).
figures: $(VENV)/.installed-dev frontend/dist/index.html chromium
	@start=$$(date +%s) && $(MAKE) --no-print-directory e2e && \
		E2E_WALL_SECONDS=$$(( $$(date +%s) - start )) $(MAKE) --no-print-directory e2e E2E_CONFIG=figures.config.ts

format: $(VENV)/.installed-dev
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

migrate: $(VENV)/.installed-runtime
	$(BIN)/alembic upgrade head

clean:
	rm -rf frontend/node_modules frontend/dist frontend/test-results frontend/playwright-report
	rm -rf $(VENV) .mypy_cache .ruff_cache .pytest_cache cronjobs.db cronjobs.db-wal cronjobs.db-shm

## Load test: async vs sync baseline vs asyncpg ceiling on a fresh PostgreSQL database (about
## 20 minutes; ARGS=--quick for under 5). Writes loadtest/results/report.md and rps.png.
loadtest: $(VENV)/.installed-loadtest
	pg_url=$$(bash scripts/ensure_postgres.sh) && trap 'bash scripts/ensure_postgres.sh --stop' EXIT && \
		TEST_DATABASE_URL="$$pg_url" $(BIN)/python -m loadtest.run $(ARGS)
