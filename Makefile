# The README's two commands: `make demo` and `make test`. Each creates .venv and installs
# what it needs on first use (torch and torchvision pinned; pip finds them on local disk).
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
PIP    := $(BIN)/pip install --disable-pip-version-check --progress-bar off -q

export HF_HUB_OFFLINE := 1
export TRANSFORMERS_OFFLINE := 1

.PHONY: demo test fuzz bench bench-quick lint clean-venv

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)

$(VENV)/.installed-run: pyproject.toml | $(BIN)/python
	$(PIP) -e .
	touch $@

$(VENV)/.installed-test: pyproject.toml | $(BIN)/python
	$(PIP) -e '.[test,server,distributed,web,browser]'
	touch $@ $(VENV)/.installed-run

$(VENV)/.installed-bench: pyproject.toml | $(BIN)/python
	$(PIP) -e '.[test,server,distributed,web,browser,bench]'
	touch $@ $(VENV)/.installed-test $(VENV)/.installed-run

## demo: the main job on the bundled default
demo: $(VENV)/.installed-run
	$(BIN)/mmreason demo --out out/demo

## test: lint, then the whole test suite
test: $(VENV)/.installed-test
	$(BIN)/ruff check .
	MPLCONFIGDIR=$$(mktemp -d) $(BIN)/python -m pytest

## fuzz: every input surface with 10,000 Hypothesis cases each (CI runs 300)
fuzz: $(VENV)/.installed-test
	MMREASON_FUZZ_EXAMPLES=10000 MPLCONFIGDIR=$$(mktemp -d) $(BIN)/python -m pytest -p no:cacheprovider \
		--hypothesis-show-statistics tests/test_fuzz_surfaces.py tests/worlds/test_fuzz_questions.py

lint: $(VENV)/.installed-test
	$(BIN)/ruff check .

bench: $(VENV)/.installed-bench
	$(BIN)/python -m bench

bench-quick: $(VENV)/.installed-bench
	$(BIN)/python -m bench --quick

clean-venv:
	rm -rf $(VENV)
