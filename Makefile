# Two commands on a fresh clone: `make run` and `make test`.
# Production: gunicorn, Docker and compose (README, "Deploying").
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
# The development server and demo use a development key and DEBUG; never deploy with these.
DEV_ENV := DJANGO_DEBUG=true

.PHONY: run test install install-test chromium demo check bench bench-perf clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

$(VENV)/.installed-run: requirements.txt | $(BIN)/python
	$(BIN)/python -m pip install --quiet -r requirements.txt
	touch $@

$(VENV)/.installed-test: requirements.txt requirements-test.txt | $(BIN)/python
	$(BIN)/python -m pip install --quiet -r requirements-test.txt
	touch $@ $(VENV)/.installed-run

install: $(VENV)/.installed-run
install-test: $(VENV)/.installed-test

run: install
	mkdir -p var
	$(DEV_ENV) $(BIN)/python manage.py migrate --no-input
	$(DEV_ENV) $(BIN)/python manage.py demo
	@# The job worker (browser imports run there) beside the server, stopped with it.
	$(DEV_ENV) $(BIN)/python manage.py run_jobs & worker=$$!; \
	  trap 'kill $$worker 2>/dev/null' EXIT INT TERM; \
	  $(DEV_ENV) $(BIN)/python manage.py runserver 127.0.0.1:8000

# Debian's chromium for the browser tests (Playwright cannot download its own here).
chromium:
	@command -v chromium >/dev/null 2>&1 || { \
	  echo "Installing Debian chromium for the browser tests"; \
	  SUDO=$$( [ "$$(id -u)" = 0 ] || echo sudo ); \
	  $$SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq chromium >/dev/null; }

# pytest exits 5 when it collected no test: that is a failure, not a pass.
test: install-test chromium
	$(BIN)/python manage.py check --settings=clinic.settings_test
	$(BIN)/python manage.py makemigrations --check --dry-run --settings=clinic.settings_test >/dev/null
	$(BIN)/python -m pytest $(PYTEST_ARGS); status=$$?; \
	  if [ $$status -eq 5 ]; then echo "pytest collected no tests: failing"; exit 1; fi; \
	  exit $$status

# Benchmarks (speed claims come from here, never from timed unit tests).
bench: install-test
	$(BIN)/python bench/bench_scoring.py

# Issue 13's figures: bytes on the wire, page/bare-view ratios and 50 clinicians under load
# (the last two on scratch PostgreSQL databases, BENCH_ADMIN_URL; about 15 minutes).
bench-perf: install-test
	$(BIN)/python bench/bench_bytes.py
	$(BIN)/python bench/bench_ratios.py
	$(BIN)/python bench/bench_load.py
	$(BIN)/python bench/bench_import.py

check: install-test
	$(BIN)/python manage.py check --settings=clinic.settings_test

clean:
	rm -rf $(VENV) var staticfiles .pytest_cache .hypothesis
