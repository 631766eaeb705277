# Two commands do all set-up:
#   make demo   install, build the demo workspace, open the app on it
#   make test   install (app + test tools), run every test
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
DEMO_WORKSPACE ?= demo-workspace
PORT ?= 8501

.PHONY: help demo test install install-dev app lint bench clean

help:
	@echo "make demo         install, build the demo workspace (./$(DEMO_WORKSPACE)), serve the app on port $(PORT)"
	@echo "make test         install the app and the test tools, run every test"
	@echo "make app          serve the app on the workspace of \$$KAYFABE_WORKSPACE (default ./workspace)"
	@echo "make lint         ruff and mypy"
	@echo "make bench        the import benchmark (see the README's Speed section for the others)"
	@echo "make clean        remove .venv and the demo workspace"

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
