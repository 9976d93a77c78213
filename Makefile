# triggerml — the two commands: `make demo` and `make test`.
# Each creates .venv on first use and reinstalls only when pyproject.toml changes.

PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-stamp
PYTEST_WORKERS ?= 2

.PHONY: demo test test-slow lint typecheck duplicates bench docs clean

$(STAMP): pyproject.toml
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check --upgrade pip
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -e '.[all]' --group dev
	@touch $(STAMP)

## demo: the main job end-to-end on the built-in default scenario
demo: $(STAMP)
	$(BIN)/triggerml info
	$(BIN)/triggerml verify-fixed
	$(BIN)/triggerml simulate emulation/demo.yaml --seconds 0.02 --out results/demo-raw/raw.h5
	$(BIN)/triggerml show results/demo-raw/raw.h5 --slice 2 --out results/demo-raw/slice2.png
	$(BIN)/triggerml build models/roi32.h5 --out build/roi32 --events 500
	$(BIN)/triggerml verify build/roi32 --events 500
	$(BIN)/triggerml study emulation/demo.yaml --out results/demo --fresh

## test: the CI suite (everything not marked slow)
test: $(STAMP)
	$(BIN)/python -m pytest -n $(PYTEST_WORKERS) -m "not slow"

## test-slow: the long tests only
test-slow: $(STAMP)
	$(BIN)/python -m pytest -n $(PYTEST_WORKERS) -m slow

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

typecheck: $(STAMP)
	$(BIN)/mypy triggerml

## duplicates: copied code in triggerml/ outside tools/duplicates_allowlist.txt (needs the
## `duplicates` command; says so and passes where it is not installed)
duplicates: $(STAMP)
	$(BIN)/python tools/check_duplicates.py

## docs: regenerate docs/scenario.md and docs/dataset.md from the config dataclasses
docs: $(STAMP)
	$(BIN)/python -m triggerml.docs

bench: $(STAMP)
	$(BIN)/triggerml bench fixed
	$(BIN)/triggerml bench sim
	$(BIN)/triggerml bench tpg --mode fir
	$(BIN)/triggerml bench tpg --mode dunedaq
	$(BIN)/triggerml bench emulator build/roi32
	$(BIN)/triggerml bench stream emulation/demo.yaml

clean:
	rm -rf build results .pytest_cache .ruff_cache .mypy_cache
