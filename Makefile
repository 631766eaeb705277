# Two commands do all set-up:
#   make demo   install, build the demo workspace, open the app on it
#   make test   install (app + test tools), run every test
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
DEMO_WORKSPACE ?= demo-workspace
PORT ?= 8501

.PHONY: demo test install install-dev app lint bench clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

$(VENV)/.installed: requirements.txt | $(BIN)/python
	$(BIN)/pip install --quiet -r requirements.txt
	touch $@

$(VENV)/.installed-dev: requirements-dev.txt requirements.txt | $(BIN)/python
	$(BIN)/pip install --quiet -r requirements-dev.txt
	touch $(VENV)/.installed $@

install: $(VENV)/.installed
install-dev: $(VENV)/.installed-dev

demo: install
	$(BIN)/python -m kayfabe_core demo $(DEMO_WORKSPACE)
	KAYFABE_WORKSPACE=$(DEMO_WORKSPACE) $(BIN)/python -m streamlit run app.py --server.port $(PORT)

app: install
	$(BIN)/python -m streamlit run app.py --server.port $(PORT)

test: install-dev
	$(BIN)/python -m pytest

lint: install-dev
	$(BIN)/ruff check kayfabe_core kayfabe_ui pages app.py tests benchmarks
	$(BIN)/mypy kayfabe_core

bench: install
	$(BIN)/python benchmarks/bench_ingest.py

clean:
	rm -rf $(VENV) $(DEMO_WORKSPACE)
