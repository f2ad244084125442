# The book's two commands (neither changes a tracked file):
#   make book   execute every chapter at SCALE (default ci) into _build/src, render _build/html
#   make test   lint, unit tests, notebooks under nbval, strict book build, headless-browser check
# Both create .venv and install the locked versions when needed.
# Also: make run NB=notebooks/00_datasets.ipynb [SCALE=full] (one chapter, into _build),
#       make html (render the committed chapters), make data (verify every dataset file),
#       make refresh [NB=...] [SCALE=...] (maintainers: replace the committed chapters and
#       results/*.json at ci, or write results/<scale>/).

SHELL := /bin/bash
.SHELLFLAGS := -eu -o pipefail -c
.DEFAULT_GOAL := help

PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
PIP := $(PY) -m pip
SCALE ?= ci
NB ?=
# The CPU build of torch that the book is tested with; installed only when the environment has no torch.
TORCH_SPEC ?= torch==2.13.0

# Data: MINILIB_DATA if set, else the data mirror beside the checkout when it exists.
DATA_MIRROR := ../shared/data
ifeq ($(strip $(MINILIB_DATA)),)
  ifneq ($(wildcard $(DATA_MIRROR)/MANIFEST.sha256),)
    export MINILIB_DATA := $(abspath $(DATA_MIRROR))
  endif
endif
export MINILIB_SCALE := $(SCALE)
export PYTHONHASHSEED := 0

STAMP := $(VENV)/.installed

.PHONY: help book test env run refresh html html-strict lint unit nbval browser chromium data clean

help:
	@echo "make book   execute every chapter at SCALE=$(SCALE), then render _build/html"
	@echo "make test   everything a maintainer checks"
	@echo "make run NB=notebooks/<chapter>.ipynb [SCALE=full]   run one chapter into _build"
	@echo "make html   render the committed chapters without executing anything"
	@echo "make refresh [NB=...] [SCALE=...]   maintainers: replace the committed outputs"
	@echo "make data   verify every dataset file under MINILIB_DATA"

# ------------------------------------------------------------------------------------------ environment
$(STAMP): pyproject.toml requirements.lock
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else "Python >= 3.11 is needed")'
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	@echo "installing the locked environment into $(VENV) ..."
	@$(PIP) install --quiet --disable-pip-version-check --upgrade pip
	@$(PY) -c 'import torch' 2>/dev/null || $(PIP) install --quiet --disable-pip-version-check $(TORCH_SPEC)
	@$(PIP) install --quiet --disable-pip-version-check -r requirements.lock
	@$(PIP) install --quiet --disable-pip-version-check --no-deps -e .
	@touch $@

env: $(STAMP)

data-check:
	@if [ -z "$${MINILIB_DATA:-}" ]; then \
	  echo "error: MINILIB_DATA is not set and $(DATA_MIRROR) does not exist."; \
	  echo "  Set MINILIB_DATA to the folder holding the datasets, or fetch them: $(PY) -m minilib.data fetch NAME"; \
	  exit 1; fi

# ------------------------------------------------------------------------------------------------ book
book: env data-check
	@$(PY) -m minilib.book build --scale $(SCALE)
	@$(VENV)/bin/jupyter-book build _build/src --path-output . --all --quiet
	@echo "book rendered: _build/html/index.html"

run: env data-check
	@test -n "$(NB)" || { echo "usage: make run NB=notebooks/<chapter>.ipynb [SCALE=ci|full]"; exit 2; }
	@$(PY) -m minilib.book run --scale $(SCALE) $(NB)

# Maintainers: re-execute chapters and replace their committed outputs (a tracked change).
refresh: env data-check
	@$(PY) -m minilib.book refresh --scale $(SCALE) $(NB)

html: env
	@$(VENV)/bin/jupyter-book build . --all --quiet
	@echo "book rendered: _build/html/index.html"

# ------------------------------------------------------------------------------------------------ test
test: env data-check lint unit nbval html-strict browser
	@echo "make test: all checks passed"

lint: env
	@echo "== ruff"
	@$(VENV)/bin/ruff check minilib tests notebooks book/_ext
	@$(VENV)/bin/ruff format --check --quiet minilib tests notebooks book/_ext  # 88 columns: the book's

unit: env
	@echo "== unit tests"
	@$(PY) -m pytest tests -q -p no:cacheprovider --ignore=tests/browser

nbval: env data-check
	@echo "== notebooks under nbval (re-executed, checked cells compared)"
	@MINILIB_RESULTS=$(CURDIR)/_build/nbval-results MINILIB_PROGRESS=0 $(PY) -m pytest notebooks -q -p no:cacheprovider --nbval-lax --nbval-sanitize-with tests/nbval_sanitize.cfg

html-strict: env
	@echo "== strict book build (warnings are errors)"
	@$(VENV)/bin/jupyter-book build . --all --warningiserror --nitpick --keep-going --quiet

chromium:
	@command -v chromium >/dev/null 2>&1 || { \
	  echo "installing Debian's chromium for the browser check ..."; \
	  SUDO=$$( [ "$$(id -u)" = 0 ] || echo sudo ); \
	  $$SUDO apt-get install -y -qq chromium >/dev/null 2>&1 || { $$SUDO apt-get update -qq && $$SUDO apt-get install -y -qq chromium >/dev/null; }; }

browser: env chromium
	@echo "== headless browser check of _build/html"
	@$(PY) -m pytest tests/browser -q -p no:cacheprovider

# ------------------------------------------------------------------------------------------------ data
data: env data-check
	@$(PY) -m minilib.data verify

clean:
	rm -rf _build
