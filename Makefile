# Every target installs what it needs into .venv on first use.
PYTHON ?= python3
VENV   ?= .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed-stamp
PYTEST_ARGS ?=

.PHONY: help install lint test serve bench demo clean

help:
	@echo "make demo   - start a throwaway server, drive a failure, print the incident"
	@echo "make test   - lint, then the whole suite (SQLite and PostgreSQL)"
	@echo "make lint   - ruff"
	@echo "make serve  - run onset serve on ONSET_BIND (default 127.0.0.1:8080)"
	@echo "make bench  - ingest throughput vs. the parse-only ceiling, engine tick time"

$(STAMP): pyproject.toml $(wildcard sdk/pyproject.toml)
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[test]'
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
	$(PY) -m demo.burst

clean:
	rm -rf $(VENV) data .pytest_cache .ruff_cache
