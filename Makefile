# Two commands for a fresh Debian machine: `make run` and `make test`.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)
# Commands the platform needs, and the Debian packages that provide them.
RUN_TOOLS := ffmpeg:ffmpeg ffprobe:ffmpeg /usr/sbin/nginx:nginx \
	/usr/lib/nginx/modules/ngx_rtmp_module.so:libnginx-mod-rtmp \
	/usr/lib/nginx/modules/ngx_stream_module.so:libnginx-mod-stream
TEST_TOOLS := $(RUN_TOOLS) chromium:chromium
STAMP := $(VENV)/.installed

.PHONY: run prod test deps system-deps lint bench clean vendor

run: deps
	@bin/run-local

# The production profile: nginx, gunicorn, daphne, a worker; needs DATABASE_URL (PostgreSQL)
# and REDIS_URL (bin/run-prod says so otherwise).
prod: deps
	@bin/run-prod

test: TOOLS = $(TEST_TOOLS)
test: deps
	# Everything but tests/e2e in two processes; then the end-to-end tests, which start
	# servers and workers of their own, one at a time.
	export Q_CLUSTER_NAME=kino-test-$$$$; \
	$(VENV)/bin/pytest -q -n 2 --ignore=tests/e2e $(PYTEST_ARGS) && \
	$(VENV)/bin/pytest -q tests/e2e $(PYTEST_ARGS)

deps: system-deps $(STAMP)

TOOLS ?= $(RUN_TOOLS)
system-deps:
	@packages=""; for pair in $(TOOLS); do \
		{ command -v $${pair%%:*} || test -e $${pair%%:*}; } >/dev/null || packages="$$packages $${pair##*:}"; done; \
	if [ -n "$$packages" ]; then \
		echo "Installing system packages:$$packages"; \
		$(SUDO) apt-get update -qq && DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -qq $$packages; \
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

HLSJS_VERSION := 1.7.4
TUSJS_VERSION := 4.3.1
vendor:
	@tmp=$$(mktemp -d); cd $$tmp && npm pack --silent hls.js@$(HLSJS_VERSION) >/dev/null && tar xzf hls.js-$(HLSJS_VERSION).tgz; \
	cd - >/dev/null; cp $$tmp/package/dist/hls.min.js $$tmp/package/LICENSE static/vendor/hls.js/; \
	echo "hls.js $(HLSJS_VERSION) from the npm registry (package hls.js), Apache-2.0; see LICENSE. Refresh with: make vendor" > static/vendor/hls.js/VERSION; \
	rm -rf $$tmp
	@tmp=$$(mktemp -d); cd $$tmp && npm pack --silent tus-js-client@$(TUSJS_VERSION) >/dev/null && tar xzf tus-js-client-$(TUSJS_VERSION).tgz; \
	cd - >/dev/null; mkdir -p static/vendor/tus-js-client; \
	cp $$tmp/package/dist/tus.min.js $$tmp/package/LICENSE static/vendor/tus-js-client/; \
	echo "tus-js-client $(TUSJS_VERSION) from the npm registry (package tus-js-client, dist/tus.min.js), MIT; see LICENSE, and THIRD-PARTY-LICENSES for the libraries the bundle includes. The bundle includes js-base64 and ieee754 (BSD-3-Clause), url-parse, querystringify, requires-port, buffer and base64-js (MIT). Refresh with: make vendor" > static/vendor/tus-js-client/VERSION; \
	rm -rf $$tmp
