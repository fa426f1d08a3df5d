# Every target installs what it needs into .venv on first use.
PYTHON ?= python3
VENV   ?= .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed-stamp
PYTEST_ARGS ?=

.PHONY: help install lint test serve bench demo demo-ui screenshots clean

help:
	@echo "make demo   - onset first-run: a throwaway server, the demo shop, a fault, the incident"
	@echo "make demo-ui - make demo, then the server stays up: open the dashboard it prints"
	@echo "make test   - lint, then the whole suite (SQLite and PostgreSQL)"
	@echo "make lint   - ruff"
	@echo "make serve  - run onset serve on ONSET_BIND (default 127.0.0.1:8080)"
	@echo "make bench  - ingest throughput vs. the parse-only ceiling, engine tick time"
	@echo "make screenshots - drive a failure against a real server, save dashboard PNGs to docs/images/"

$(STAMP): pyproject.toml $(wildcard sdk/pyproject.toml)
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[test,bench]'
	@if [ -f sdk/pyproject.toml ]; then $(PY) -m pip install --quiet -e ./sdk; fi
	touch $(STAMP)

install: $(STAMP)

lint: $(STAMP)
	$(VENV)/bin/ruff check .

test: lint
	$(VENV)/bin/pytest -n 2 $(PYTEST_ARGS)

serve: $(STAMP)
	$(VENV)/bin/onset serve

bench: $(STAMP)
	$(PY) -m bench

demo: $(STAMP)
	$(VENV)/bin/onset first-run

demo-ui: $(STAMP)
	$(VENV)/bin/onset first-run --keep-serving

# Needs Debian's chromium (apt-get install -y chromium); playwright comes with the test extra.
screenshots: $(STAMP)
	$(PY) -m tests.browser.screenshots --out docs/images

clean:
	rm -rf $(VENV) data .pytest_cache .ruff_cache
