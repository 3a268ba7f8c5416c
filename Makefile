# Brisk LMS. `make run` serves the demo; `make test` runs the whole suite.
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
HOST ?= 127.0.0.1
PORT ?= 8000

.PHONY: install run test lint format seed-large bench clean

$(VENV)/.installed: requirements.txt requirements-dev.txt
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -r requirements-dev.txt
	touch $@

install: $(VENV)/.installed

run: install
	$(PY) manage.py migrate --noinput
	$(PY) manage.py seed_demo --size small --if-empty
	$(PY) manage.py runserver $(HOST):$(PORT)

test: install
	$(VENV)/bin/pytest

lint: install
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/mypy .

format: install
	$(VENV)/bin/ruff check --fix .
	$(VENV)/bin/ruff format .

seed-large: install
	$(PY) manage.py migrate --noinput
	$(PY) manage.py seed_demo --size large --reset

# Load and scale benchmarks against reference apps: writes bench/RESULTS.md and
# bench/scale.png (~10 min; the first run also seeds its own PostgreSQL in bench/out/).
# A piece of it: .venv/bin/python -m bench.run --only warm,ref_redis --duration 5
bench: install
	$(PY) -m pip install --quiet -r bench/requirements-bench.txt
	$(PY) -m bench.run $(BENCH_ARGS)

clean:
	rm -rf $(VENV) db.sqlite3 staticfiles .pytest_cache .mypy_cache .ruff_cache

.PHONY: fuzz soak

# Contract fuzzing, the long run: schemathesis against a live Gunicorn with its own
# PostgreSQL and Redis, as anonymous, student and staff, every operation, valid and
# invalid input, FUZZ_MAX_EXAMPLES per operation (default 100) and a new seed each run.
# CI runs the same test with 10 and a fixed seed. DATABASE_URL only tells the test suite
# that PostgreSQL is available: nothing is written to it.
fuzz: install
	DATABASE_URL=$${DATABASE_URL:-postgres://postgres@127.0.0.1:5432/postgres} \
	FUZZ_MAX_EXAMPLES=$${FUZZ_MAX_EXAMPLES:-100} FUZZ_SEED=$${FUZZ_SEED:-random} \
	$(VENV)/bin/pytest tests/fault/test_fuzz.py -m fuzz -p no:cacheprovider

# Soak: the mixed load for 10 minutes at concurrency 32 on the large data set (its own
# PostgreSQL in bench/out/soak/, seeded the first time, ~1 min; Redis; Gunicorn). Writes
# bench/SOAK.md. A shorter one: make soak SOAK_ARGS="--minutes 2 --size small"
soak: install
	$(PY) -m bench.soak $(SOAK_ARGS)

.PHONY: topology-up topology-down

# The production topology on this machine, on loopback (deploy/topology.py): PostgreSQL
# primary and a streaming replica, PgBouncer (transaction mode), Redis, two Gunicorn
# instances and nginx with deploy/nginx.conf (TLS, self-signed). Prints the state folder
# and the URLs; `make topology-down` stops the last one and removes its folder.
# Needs pgbouncer and nginx (apt-get install pgbouncer nginx). TOPOLOGY_ARGS="--size medium"
topology-up: install
	$(PY) -m deploy.topology up $(TOPOLOGY_ARGS)

topology-down: install
	$(PY) -m deploy.topology down $(TOPOLOGY_ARGS)
