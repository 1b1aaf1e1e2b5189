# Two commands do all the setup on a fresh machine: `make serve` and `make test`.
VENV   := .venv
PY     := $(VENV)/bin/python
SUDO   := $(shell [ "$$(id -u)" = 0 ] || echo sudo)
PYTHON ?= python3
LOCK   := requirements/lock.txt
# Marks (pyproject.toml) of the tests that train a model, drive a browser or are slow otherwise:
# `make test` runs them, `make check` leaves them out.
SLOW   := browser or train or slow

.PHONY: setup serve build test check lint lock katex format bench clean

setup: $(VENV)/.installed node_modules/.installed .system-deps

# The venv holds exactly the lock, made afresh whenever the lock changes: every package at its
# locked version and hash, none of their dependencies resolved again. torch is the local CPU wheel
# (its hash is in the lock), and the build backend is locked too, so installing the project
# itself fetches nothing.
$(VENV)/.locked: $(LOCK)
	$(PYTHON) -m venv --clear $(VENV)
	$(PY) -m pip install -q --require-hashes --no-deps -r $(LOCK)
	touch $@

# What installing the project depends on: pyproject.toml's [project] and [build-system] tables.
# The stamp is rewritten only when they change, so an edit to [tool.*] (`site-builder i18n new`
# adds a language there) reinstalls nothing.
$(VENV)/.project: pyproject.toml
	@mkdir -p $(VENV)
	@$(PYTHON) -c 'import tomllib; d = tomllib.load(open("pyproject.toml", "rb")); \
	  print(repr([d.get("project"), d.get("build-system")]))' > $@.new
	@if cmp -s $@.new $@; then rm $@.new; else mv $@.new $@; fi

$(VENV)/.installed: $(VENV)/.locked $(VENV)/.project
	$(PY) -m pip install -q --no-deps --no-build-isolation -e .
	$(PY) -m pip check
	touch $@

# The newest versions that the ranges admit (the generator's in pyproject.toml, the experiment's and
# the dev tools' in requirements/project.in), locked by pip-tools (from PyPI, and torch from the
# local CPU wheel: requirements/constraints.txt), then the whole suite on a venv made from the new
# lock. Commit the lock only if the suite passes.
lock: $(VENV)/.installed
	CUSTOM_COMPILE_COMMAND="make lock" $(VENV)/bin/pip-compile -q --upgrade \
	  --generate-hashes --allow-unsafe --strip-extras --no-emit-options \
	  -c requirements/constraints.txt -o $(LOCK) \
	  pyproject.toml requirements/project.in
	$(MAKE) test

# The KaTeX that ships inside site_builder (site_builder/katex), copied from the version that
# package-lock.json pins: its licence, script, stylesheet and woff2 fonts (the only ones the site
# serves). tests/test_setup.py checks that the two versions agree.
KATEX := site_builder/katex
katex: node_modules/.installed
	rm -rf $(KATEX) && mkdir -p $(KATEX)/dist/fonts
	cp node_modules/katex/LICENSE $(KATEX)/
	cp node_modules/katex/dist/katex.min.js node_modules/katex/dist/katex.min.css $(KATEX)/dist/
	cp node_modules/katex/dist/fonts/*.woff2 $(KATEX)/dist/fonts/

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

lint: setup
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/mypy

# Everything: lint, types and the whole suite (what CI runs).
test: lint
	$(VENV)/bin/pytest -q

# The edit loop: lint, types and every test that neither trains a model nor opens a browser.
check: lint
	$(VENV)/bin/pytest -q -m "not ($(SLOW))"

format: setup
	$(VENV)/bin/ruff format .
	$(VENV)/bin/ruff check --fix .

bench: setup
	$(PY) benchmarks/build_site.py
	$(PY) benchmarks/katex_throughput.py
	$(PY) benchmarks/train_throughput.py

clean:
	rm -rf site .site_builder_cache artifacts .pytest_cache
