# Two commands for a fresh Debian machine: `make run` and `make test`.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)
APT_PACKAGES := ffmpeg
STAMP := $(VENV)/.installed

.PHONY: run test deps system-deps lint bench clean

run: deps
	@bin/run-local

test: deps
	Q_CLUSTER_NAME=kino-test-$$$$ $(VENV)/bin/pytest -q

deps: system-deps $(STAMP)

system-deps:
	@missing=""; for bin in ffmpeg ffprobe; do command -v $$bin >/dev/null || missing=1; done; \
	if [ -n "$$missing" ]; then \
		echo "Installing system packages: $(APT_PACKAGES)"; \
		$(SUDO) apt-get update -qq && DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -qq $(APT_PACKAGES); \
	fi
	@$(PYTHON) -c 'import ensurepip, venv' 2>/dev/null || { \
		DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -qq python3-venv; }

$(STAMP): pyproject.toml
	@[ -x $(PY) ] || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -e ".[dev]"
	@touch $(STAMP)

lint: deps
	$(VENV)/bin/ruff check .

bench: deps
	$(PY) bench/vod_pipeline.py

clean:
	rm -rf var/tmp var/test-db-*.sqlite3
