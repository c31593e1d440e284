# Every target does its own set-up from a fresh clone: a local .venv with the pinned dependencies.
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: install lint format test train evaluate bench clean

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip==25.3
	$(BIN)/python -m pip install --quiet -e '.[lambda,train,dev]'
	touch $(STAMP)

## BlazeFace detectors, extracted from the mediapipe wheel and sha256-checked (a build step, never at run time).
DETECTORS := models/detector/face_detection_short_range.tflite models/detector/face_detection_full_range_sparse.tflite
$(DETECTORS) &: scripts/fetch_detectors.py | $(STAMP)
	$(BIN)/python scripts/fetch_detectors.py

install: $(STAMP) $(DETECTORS)

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

format: $(STAMP)
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

## The whole suite, exactly what CI runs (.ci/run calls this).
test: lint $(DETECTORS)
	$(BIN)/python -m pytest

## Train on ../shared/datasets/utkface, export, evaluate, and ship the chosen model into models/.
TRAIN_ARGS ?=
train: $(STAMP)
	$(BIN)/python -m training.train --ship_dir models $(TRAIN_ARGS)

## Re-evaluate the shipped model on the test split (metrics.json + plots in models/evaluation).
evaluate: $(STAMP)
	$(BIN)/python -m training.evaluate --model models/agegender.tflite --output_dir models/evaluation \
		--history models/training/history.csv

## Classifier latency per face (batch 1 and 8, float32 and int8, one thread).
bench: $(STAMP)
	$(BIN)/python bench/classifier_latency.py

clean:
	rm -rf $(VENV) artifacts .pytest_cache .ruff_cache
