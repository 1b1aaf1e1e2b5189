# Two commands do all the setup on a fresh machine: `make serve` and `make test`.
VENV   := .venv
PY     := $(VENV)/bin/python
SUDO   := $(shell [ "$$(id -u)" = 0 ] || echo sudo)
PYTHON ?= python3

.PHONY: setup serve build test lint format bench clean

setup: $(VENV)/.installed node_modules/.installed .system-deps

# torch is pinned to the local CPU wheel first, so the range in pyproject.toml adds nothing (no CUDA).
$(VENV)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q "torch==2.13.0"
	$(PY) -m pip install -q -e ".[experiment,dev]"
	touch $@

# `npm install` follows package-lock.json. The lock is committed exactly as npm install writes it
# (every platform's optional Pagefind binary listed), so setting up leaves the clone unchanged.
node_modules/.installed: package.json package-lock.json
	npm install --no-audit --no-fund --loglevel=error
	touch $@

# Debian's Chromium and fonts for the browser tests (Chinese: WenQuanYi Micro Hei; Japanese:
# IPA Gothic, 3.5 MB, as Chinese fonts draw many kanji in their Chinese forms); msgfmt to
# validate PO files.
SYSTEM_DEPS := chromium fonts-wqy-microhei fonts-ipafont-gothic gettext
.system-deps: Makefile
	@if ! dpkg -s $(SYSTEM_DEPS) >/dev/null 2>&1; then \
	  $(SUDO) apt-get update -qq && \
	  $(SUDO) apt-get install -y -qq --no-install-recommends $(SYSTEM_DEPS); \
	fi
	touch $@

build: setup
	$(VENV)/bin/site-builder build

serve: setup
	$(VENV)/bin/site-builder serve --port 8000

test: setup
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/pytest -q

format: setup
	$(VENV)/bin/ruff format .
	$(VENV)/bin/ruff check --fix .

bench: setup
	$(PY) benchmarks/build_site.py
	$(PY) benchmarks/katex_throughput.py
	$(PY) benchmarks/train_throughput.py

clean:
	rm -rf site .site_builder_cache artifacts .pytest_cache
