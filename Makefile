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

.PHONY: install lab test unit notebooks book sync clean site

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

test: unit notebooks

book: install
	$(PY) -m fmbook book --output-dir build

# The website: the executed notebooks under build/notebooks/ (from `make book` or `fmbook run`)
# rendered with their outputs into build/site/. Nothing is executed; a chapter without an executed
# copy gets a page saying how to make one (SITE_FLAGS=--require-executed makes that an error).
site: install
	$(PY) -m fmbook.website --build-dir build $(SITE_FLAGS)
	rm -rf build/site
	$(VENV)/bin/sphinx-build -b html -q -j 2 build/site-src build/site
	@echo "website: build/site/index.html"

sync: install
	$(VENV)/bin/jupytext --sync notebooks/[0-9][0-9]_*.py

clean:
	rm -rf build .pytest_cache
