# Two commands work on a fresh machine: `make run` and `make test`.
# `make run` installs the runtime (requirements.txt); `make test` adds the development
# requirements (requirements-dev.txt: tests, benchmarks, the JAX and PyTorch backends).
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
DATA ?= $(if $(HAPPYMAPS_DATA),$(HAPPYMAPS_DATA),$(if $(wildcard ../shared/datasets),../shared/datasets,data))
PORT ?= 8501
# KERAS_BACKEND=jax or torch needs those frameworks: the development install has them
BACKEND_INSTALL := $(if $(filter jax torch,$(KERAS_BACKEND)),dev,venv)

.PHONY: run test venv dev train atlas bench clean

$(VENV)/.installed: requirements.txt
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -r requirements.txt
	touch $@

$(VENV)/.installed-dev: $(VENV)/.installed requirements-dev.txt
	$(PY) -m pip install --quiet -r requirements-dev.txt
	touch $@

venv: $(VENV)/.installed  ## the runtime install
dev: $(VENV)/.installed-dev  ## the runtime plus tests, benchmarks and the JAX and PyTorch backends

run: $(BACKEND_INSTALL)  ## start the app on the shipped models
	HAPPYMAPS_DATA=$(DATA) $(VENV)/bin/streamlit run app.py --server.port $(PORT) --server.headless true \
		--server.fileWatcherType none  # the app is served, not edited: no reloads, no watcher in the log

test: dev  ## the whole test suite (first: Chromium for the browser test, when missing)
	.ci/system-deps
	HAPPYMAPS_DATA=$(DATA) $(PY) -m pytest -q tests

train: $(BACKEND_INSTALL)  ## retrain every shipped model from the data
	HAPPYMAPS_DATA=$(DATA) $(PY) -m vislib.train --all

atlas: $(BACKEND_INSTALL)  ## precompute the HappyMaps atlas of every shipped model
	HAPPYMAPS_DATA=$(DATA) $(PY) -m vislib.atlas

bench: dev
	HAPPYMAPS_DATA=$(DATA) $(PY) -m vislib.bench happymaps --vs tf-keras-vis
	HAPPYMAPS_DATA=$(DATA) $(PY) -m vislib.bench engine
	HAPPYMAPS_DATA=$(DATA) $(PY) -m vislib.bench quality
	HAPPYMAPS_DATA=$(DATA) $(PY) -m vislib.bench legibility
	HAPPYMAPS_DATA=$(DATA) $(PY) -m vislib.bench images
	HAPPYMAPS_DATA=$(DATA) $(PY) -m vislib.bench photo

clean:
	rm -rf $(VENV) .pytest_cache
