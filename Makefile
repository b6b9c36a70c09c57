# Two commands work on a fresh machine: `make run` and `make test`.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
DATA ?= $(if $(HAPPYMAPS_DATA),$(HAPPYMAPS_DATA),$(if $(wildcard ../shared/datasets),../shared/datasets,data))
PORT ?= 8501

.PHONY: run test venv train atlas bench clean

$(VENV)/.installed: requirements.txt
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -r requirements.txt
	touch $@

venv: $(VENV)/.installed

run: venv  ## start the app on the shipped models
	HAPPYMAPS_DATA=$(DATA) $(VENV)/bin/streamlit run app.py --server.port $(PORT) --server.headless true

test: venv  ## the whole test suite (first: Chromium for the browser test, when missing)
	.ci/system-deps
	HAPPYMAPS_DATA=$(DATA) $(PY) -m pytest -q tests

train: venv  ## retrain every shipped model from the data
	HAPPYMAPS_DATA=$(DATA) $(PY) -m vislib.train --all

atlas: venv  ## precompute the HappyMaps atlas of every shipped model
	HAPPYMAPS_DATA=$(DATA) $(PY) -m vislib.atlas

bench: venv
	HAPPYMAPS_DATA=$(DATA) $(PY) -m vislib.bench happymaps --vs tf-keras-vis
	HAPPYMAPS_DATA=$(DATA) $(PY) -m vislib.bench engine
	HAPPYMAPS_DATA=$(DATA) $(PY) -m vislib.bench quality
	HAPPYMAPS_DATA=$(DATA) $(PY) -m vislib.bench photo

clean:
	rm -rf $(VENV) .pytest_cache
