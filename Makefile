# The two commands of the README:  make book  (build the book)  and  make test  (run the tests).
# .venv is created on first use and rebuilt when a requirements file changes.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.requirements-stamp
MODE ?= full
# Spinning OpenMP threads make timings swing up to 8x on 2-core machines.
export OMP_WAIT_POLICY ?= PASSIVE
export HF_HUB_OFFLINE ?= 1
export TOKENIZERS_PARALLELISM ?= false

.PHONY: venv book chapters test unit browser notebooks nbval bench lab clean

venv: $(STAMP)

$(STAMP): requirements.txt requirements-nodeps.txt
	rm -rf $(VENV)
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -r requirements.txt
	$(BIN)/pip install --no-deps -r requirements-nodeps.txt
	$(BIN)/pip install --no-deps -e .
	touch $(STAMP)

# Build the whole book: every chapter in full mode, then jupyter-book with warnings as errors.
book: $(STAMP)
	$(BIN)/ifl run --mode $(MODE)

# The unit tests and every chapter in quick mode (book built) side by side: each keeps about one
# core busy, so on two cores this takes about as long as the longer of the two (ifl_utils/together.py
# prefixes each output line with [unit tests] or [chapters]; both always run to the end). Then nbval
# re-executes the chapters and compares every text output, then headless Chromium opens every page
# of the built book and runs the first cells of chapter 01 in JupyterLab started as `make lab` does
# (tests/browser/test_jupyterlab.py).
test: $(STAMP)
	$(BIN)/python -m ifl_utils.together "unit tests=$(BIN)/python -m pytest tests -q --ignore=tests/browser" "chapters=$(BIN)/ifl run --mode quick"
	$(BIN)/python -m pytest --nbval book/executed --nbval-sanitize-with tests/nbval_sanitize.cfg -q -p no:randomly
	bash tests/browser/ensure_chromium.sh
	$(BIN)/python -m pytest tests/browser -q -p no:randomly --tb=short

unit: $(STAMP)
	$(BIN)/python -m pytest tests -q --ignore=tests/browser

# Browser tests of the already built book (_build/html): images, math, error outputs, links, chapter
# openings, the execution report, and a full-page screenshot of every page in _build/screenshots/;
# and the JupyterLab path. Installs chromium + chromium-driver with apt-get when missing.
browser: $(STAMP)
	bash tests/browser/ensure_chromium.sh
	$(BIN)/python -m pytest tests/browser -q -p no:randomly --tb=short

# JupyterLab (pinned) on 127.0.0.1 with the project's kernel; notebooks/NN_*.py open as notebooks
# (jupytext) and a save writes back to the .py. Prints the URL with its token; Ctrl-C stops it.
# PORT=8890 picks another port. Configuration: .jupyter/ (nothing in your home is touched).
lab: $(STAMP)
	$(BIN)/python -m ifl_utils.lab $(if $(PORT),--port $(PORT))

bench: $(STAMP)
	$(BIN)/ifl bench all --save

clean:
	rm -rf _build build-nb book/executed results
