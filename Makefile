# Brisk LMS. `make run` serves the demo; `make test` runs the whole suite; `make help`
# lists every target.
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
HOST ?= 127.0.0.1
PORT ?= 8000
# Extra pytest arguments for `make test`: make test ARGS="tests/courses/test_admin.py -k budget"
ARGS ?=

.DEFAULT_GOAL := help
.PHONY: help install install-dev run superuser test lint format seed-large bench fuzz soak clean

help: ## List the targets
	@awk 'BEGIN {FS = ":.*## "} /^[a-z-]+:.*## / {printf "  make %-12s %s\n", $$1, $$2}' $(MAKEFILE_LIST)
	@echo "  Variables: PORT=$(PORT) HOST=$(HOST) (make run), ARGS=... (make test), BENCH_ARGS, SOAK_ARGS"

# What serving needs (requirements.txt) and, for tests and linters, the development set
# on top. Each stamp is redone when its requirements change.
$(VENV)/.installed: requirements.txt
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -r requirements.txt
	touch $@

$(VENV)/.installed-dev: $(VENV)/.installed requirements-dev.txt
	$(PY) -m pip install --quiet -r requirements-dev.txt
	touch $@

install: $(VENV)/.installed ## Create .venv with what serving needs (requirements.txt)

install-dev: $(VENV)/.installed-dev ## Add the development set (tests, linters, debug toolbar)

run: install ## Migrate, seed the small demo set once, serve http://127.0.0.1:8000 (another port: make run PORT=8001)
	$(PY) manage.py migrate --noinput
	$(PY) manage.py seed_demo --size small --if-empty
	$(PY) manage.py runserver $(HOST):$(PORT)

superuser: install ## Create an admin user (asks for e-mail and password)
	$(PY) manage.py migrate --noinput
	$(PY) manage.py createsuperuser

test: install-dev ## Run the test suite (one file: make test ARGS=tests/core/test_health.py)
	$(VENV)/bin/pytest $(ARGS)

lint: install-dev ## ruff, mypy and the layers contract (lint-imports), as CI runs them
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/mypy .
	$(VENV)/bin/lint-imports

format: install-dev ## Fix what ruff can fix, and format
	$(VENV)/bin/ruff check --fix .
	$(VENV)/bin/ruff format .

seed-large: install ## Reset the database to the large demo set (2M enrollments)
	$(PY) manage.py migrate --noinput
	$(PY) manage.py seed_demo --size large --reset

# Load and scale benchmarks against reference apps: writes bench/RESULTS.md and
# bench/scale.png (about 8 minutes, as bench/RESULTS.md records; the first run also seeds
# the large set into its own PostgreSQL in bench/out/, 1-3 minutes more). Needs PostgreSQL's server binaries, redis-server and wrk: when wrk or
# redis-server is missing and this runs as root, it installs them with apt-get (and says
# so); otherwise it stops and names the package to install.
# A piece of it: .venv/bin/python -m bench.run --only warm,ref_redis --duration 5
bench: install-dev ## Load and scale benchmarks (about 8 min; may apt-get install wrk, see README)
	$(PY) -m pip install --quiet -r bench/requirements-bench.txt
	$(PY) -m bench.run $(BENCH_ARGS)

# Contract fuzzing, the long run: schemathesis against a live Gunicorn with its own
# PostgreSQL and Redis, as anonymous, student and staff, every operation, valid and
# invalid input, FUZZ_MAX_EXAMPLES per operation (default 100) and a new seed each run.
# CI runs the same test with 10 and a fixed seed. DATABASE_URL only tells the test suite
# that PostgreSQL is available: nothing is written to it.
fuzz: install-dev ## schemathesis against a live server, longer than CI
	DATABASE_URL=$${DATABASE_URL:-postgres://postgres@127.0.0.1:5432/postgres} \
	FUZZ_MAX_EXAMPLES=$${FUZZ_MAX_EXAMPLES:-100} FUZZ_SEED=$${FUZZ_SEED:-random} \
	$(VENV)/bin/pytest tests/fault/test_fuzz.py -m fuzz -p no:cacheprovider

# Soak: the mixed load for 10 minutes at concurrency 32 on the large data set (its own
# PostgreSQL in bench/out/soak/, seeded the first time, ~1 min; Redis; Gunicorn). Writes
# bench/SOAK.md. A shorter one: make soak SOAK_ARGS="--minutes 2 --size small"
soak: install-dev ## The mixed load for 10 minutes (bench/SOAK.md)
	$(PY) -m bench.soak $(SOAK_ARGS)

clean: ## Remove .venv, the SQLite database and caches
	rm -rf $(VENV) db.sqlite3 staticfiles .pytest_cache .mypy_cache .ruff_cache

.PHONY: topology-up topology-down

# The production topology on this machine, on loopback (deploy/topology.py): PostgreSQL
# primary and a streaming replica, PgBouncer (transaction mode), Redis, two Gunicorn
# instances and nginx with deploy/nginx.conf (TLS, self-signed). Prints the state folder
# and the URLs; `make topology-down` stops the last one and removes its folder.
# Needs pgbouncer and nginx (apt-get install pgbouncer nginx). TOPOLOGY_ARGS="--size medium"
topology-up: install ## Start the production topology on loopback (replica, PgBouncer, 2 instances, nginx)
	$(PY) -m deploy.topology up $(TOPOLOGY_ARGS)

topology-down: install ## Stop the topology that topology-up started
	$(PY) -m deploy.topology down $(TOPOLOGY_ARGS)
