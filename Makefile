# overbroad: `make repro` runs the pipeline on the bundled corpus, `make test` runs the tests.
SHELL := /bin/bash
PY ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
# Label Studio has pins of its own: it lives in its own environment, never in the pipeline's.
LS_VENV := .venv-ls
LS_STAMP := $(LS_VENV)/.installed
REVIEW_N ?= 50
REVIEW_SELECT ?= uncertain
export HF_HUB_OFFLINE := 1
export TRANSFORMERS_OFFLINE := 1
export HF_DATASETS_OFFLINE := 1
export DVC_NO_ANALYTICS := 1
export TOKENIZERS_PARALLELISM := false
# dvc.yaml commands say `python`: the project's venv comes first on PATH.
export PATH := $(abspath $(BIN)):$(PATH)

.PHONY: install repro test lint bench clean-venv review review-env

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PY) -m venv $(VENV)
	$(BIN)/python -m pip install -q -e '.[dev]'
	$(BIN)/python -m pip check
	touch $(STAMP)

install: $(STAMP)

$(LS_STAMP): tools/label-studio/requirements.txt
	test -x $(LS_VENV)/bin/python || $(PY) -m venv $(LS_VENV)
	$(LS_VENV)/bin/python -m pip install -q -r tools/label-studio/requirements.txt
	touch $(LS_STAMP)

review-env: $(LS_STAMP)

# A local Label Studio on 127.0.0.1:8080 with a project, the labeling config and a batch of tasks.
review: $(STAMP) $(LS_STAMP)
	$(BIN)/overbroad review export --out review/tasks.json --select $(REVIEW_SELECT) --n $(REVIEW_N)
	$(BIN)/overbroad review serve --tasks review/tasks.json

repro: $(STAMP)
	$(BIN)/dvc repro

test: $(STAMP) $(LS_STAMP)
	$(BIN)/python -m pytest -q -p no:cacheprovider

lint: $(STAMP)
	$(BIN)/ruff check pipeline tests bench
	$(BIN)/ruff format --check pipeline tests bench

bench: $(STAMP)
	$(BIN)/python bench/segment.py
	$(BIN)/python bench/score.py --articles 150 --bf16-every 15 --int8

clean-venv:
	rm -rf $(VENV)
