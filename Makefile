# make test: everything the test suite needs, then ruff and pytest.
# make demo: the guided demo against the bundled portal emulator.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: test demo lint system-deps clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip

$(STAMP): pyproject.toml | $(BIN)/python
	$(BIN)/pip install --quiet -e '.[test,postgres]'
	touch $(STAMP)

# PostgreSQL and Chromium come from Debian's packages; installed only when missing
# and only when running as root (otherwise those tests report why they cannot run).
system-deps:
	@if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
	  missing=""; \
	  ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 || missing="$$missing postgresql"; \
	  command -v chromium >/dev/null || missing="$$missing chromium"; \
	  if [ -n "$$missing" ]; then \
	    echo "installing Debian packages:$$missing"; \
	    export DEBIAN_FRONTEND=noninteractive; \
	    apt-get install -y -q $$missing >/dev/null 2>&1 || \
	      { apt-get update -q >/dev/null && apt-get install -y -q $$missing >/dev/null; }; \
	  fi; \
	fi

lint: $(STAMP)
	$(BIN)/ruff check .

# The rules in mappers/ must stay at 100% branch coverage. As root, system-deps has
# installed PostgreSQL and Chromium, so their tests must run rather than skip.
test: $(STAMP) system-deps lint
	if [ "$$(id -u)" = 0 ]; then export TASKBRIDGE_TEST_REQUIRE="postgres chromium"; fi; \
	tests/with_postgres.sh $(BIN)/pytest --cov=mappers --cov-branch \
	  --cov-report=term-missing:skip-covered --cov-fail-under=100

demo: $(STAMP)
	$(BIN)/taskbridge demo

clean:
	rm -rf $(VENV) var .pytest_cache .ruff_cache .coverage
