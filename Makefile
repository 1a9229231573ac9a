# fmbook: `make lab` to learn, `make test` to test, `make book` to build the results report.
# On a fresh machine these are all the set-up there is: each creates .venv when missing.

PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV   := .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.fmbook-installed
# Keras chapters run on the TensorFlow backend (the torch backend is several times slower for LSTMs).
export KERAS_BACKEND ?= tensorflow
export TF_CPP_MIN_LOG_LEVEL ?= 2
JUPYTER_ROOT := $(if $(filter 0,$(shell id -u)),--allow-root,)

.PHONY: install lab test unit notebooks chapters-once book sync clean site site-smoke browser browser-test student instructor editions-test colab-check

install: $(STAMP)

$(STAMP): requirements-lock.txt pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	# torch first and exactly as locked (a CPU wheel here; a looser pin pulls GBs of CUDA).
	$(PY) -m pip install -q "$$(grep -E '^torch==' requirements-lock.txt)"
	$(PY) -m pip install -q -r requirements-lock.txt
	$(PY) -m pip install -q --no-deps -e .
	touch $@

lab: install
	$(VENV)/bin/jupyter lab notebooks/ $(JUPYTER_ROOT)

unit: install
	FMBOOK_PROFILE=smoke $(PY) -m pytest tests -q

notebooks: install
	FMBOOK_PROFILE=smoke $(PY) -m pytest --nbval-lax --nbval-current-env -p no:randomly notebooks/ -q

# Every chapter is executed once: with a browser at hand, by the smoke book the website is built
# from (`fmbook book` fails on a cell error or a failed check), then the browser tests; without one,
# under nbval (`make notebooks`), and the browser tests are reported as skipped with how to get them.
test: unit editions-test chapters-once

book: install
	$(PY) -m fmbook book --output-dir build

# The website: the executed notebooks under build/notebooks/ (from `make book` or `fmbook run`)
# rendered with their outputs into build/site/. Nothing is executed; a chapter without an executed
# copy gets a page saying how to make one (SITE_FLAGS=--require-executed makes that an error).
SITE_FROM ?= build
SITE_OUT  ?= build/site
site: install
	$(PY) -m fmbook.website --build-dir $(SITE_FROM) --dest $(SITE_OUT)-src $(SITE_FLAGS)
	rm -rf $(SITE_OUT)
	$(VENV)/bin/sphinx-build -b html -q -j 2 $(SITE_OUT)-src $(SITE_OUT)
	@echo "website: $(SITE_OUT)/index.html"

# What the browser tests look at: every chapter executed in smoke, and the site built from them.
site-smoke: install
	mkdir -p build/smoke
	$(PY) -m fmbook book --profile smoke --output-dir build/smoke 2> build/smoke/book.stderr || \
	  { tail -40 build/smoke/book.stderr; exit 1; }
	$(MAKE) --no-print-directory site SITE_FROM=build/smoke SITE_OUT=build/smoke/site SITE_FLAGS=--require-executed

# The browser tests (Chromium from the distribution, driven by Playwright): the smoke site and
# JupyterLab. Screenshots go to build/site-shots/.
browser-test: install
	FMBOOK_SITE_DIR=build/smoke/site $(PY) -m pytest -m browser tests/browser -q -p no:randomly

CHROMIUM := $(or $(FMBOOK_CHROMIUM),$(shell command -v chromium || command -v chromium-browser || command -v google-chrome))
MATHJAX  := $(wildcard /usr/share/javascript/mathjax/MathJax.js /usr/share/mathjax/MathJax.js)
browser:
ifeq ($(CHROMIUM),)
	@echo "SKIPPED the browser tests: no Chromium found. Install it with 'sudo apt-get install -y chromium'"
	@echo "(Debian/Ubuntu) or set FMBOOK_CHROMIUM=/path/to/chromium, then run 'make browser'."
else ifeq ($(MATHJAX),)
	@echo "SKIPPED the browser tests: the website serves the distribution's MathJax, which is missing."
	@echo "Install it with 'sudo apt-get install -y libjs-mathjax', then run 'make browser'."
else
	$(MAKE) --no-print-directory site-smoke browser-test
endif

chapters-once:
ifeq ($(and $(CHROMIUM),$(MATHJAX)),)
	$(MAKE) --no-print-directory notebooks
	@$(MAKE) --no-print-directory browser
else
	$(MAKE) --no-print-directory site-smoke browser-test
endif

# Student edition: notebooks and package without solution source (checks and hints still work).
# Instructor edition: each exercise's worked solution shown under it. Both under build/.
student: install
	$(PY) -m fmbook.editions student --dest build/student

instructor: install
	$(PY) -m fmbook.editions instructor --dest build/instructor

# Both editions run in smoke under nbval, each with its own package first on the path.
EDITION_CHAPTERS ?= 00_start_here 01_logistic_regression
editions-test: student instructor
	for e in student instructor; do \
	  ( cd build/$$e && PYTHONPATH=$$PWD FMBOOK_PROFILE=smoke $(CURDIR)/$(PY) -m pytest --nbval-lax \
	    --nbval-current-env -p no:randomly -p no:cacheprovider -q $(EDITION_CHAPTERS:%=notebooks/%.ipynb) ) || exit 1; \
	done

# Needs the network (PyPI) and ~5 GB; not part of CI: a fresh venv with Colab-like torch and TensorFlow
# (other versions than the lock's), the notebooks' Colab install line pointed at this working tree,
# then chapter 01 in smoke. See tools/colab_check.sh.
colab-check:
	tools/colab_check.sh

sync: install
	$(VENV)/bin/jupytext --sync notebooks/[0-9][0-9]_*.py

clean:
	rm -rf build .pytest_cache
