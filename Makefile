# Two commands do everything on a fresh machine (Python 3.11, Node 20):
#   make run    serve the app with the shipped model on $(HOST):$(PORT)
#   make test   lint + every test (unit, API, e2e in Chromium, front-end)
SHELL := /bin/bash
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
HOST ?= 127.0.0.1
PORT ?= 8000
WEB_CONCURRENCY ?= 2
MODEL_PATH ?= models/cifar10_cnn.pkl
CHROMIUM ?= /usr/bin/chromium
<<<<<<< HEAD
# glibc's allocator, for the server (see backend/gunicorn.conf.py; render.yaml sets the same).
MALLOC_ARENA_MAX ?= 2
GLIBC_TUNABLES ?= glibc.malloc.mmap_threshold=1048576
export HOST PORT WEB_CONCURRENCY MODEL_PATH MALLOC_ARENA_MAX GLIBC_TUNABLES
=======
# One example picture per class for the page, copied out of the CIFAR-10 archive: the dataset may
# not be committed, so they are made where the archive is (without it the page shows none).
CIFAR_ARCHIVE ?= ../shared/data/cifar10-jpeg/train.tar.gz
EXAMPLES_DIR ?= frontend/examples
export HOST PORT WEB_CONCURRENCY MODEL_PATH EXAMPLES_DIR
>>>>>>> bench

.PHONY: run test lint pytest npm-test train bench clean lock system-deps help

help:
	@echo "make run     start the app on http://$(HOST):$(PORT) (serving deps only, no TensorFlow)"
	@echo "make test    install test deps (+ Debian chromium, redis-server) and run lint, pytest, npm test"
	@echo "make train   grid search + final fit on ../shared/data -> $(MODEL_PATH)"
	@echo "make bench   latency/memory/throughput vs a plain Keras server -> bench/results/"
	@echo "make lint    ruff + JS syntax check"
	@echo "make clean   remove the virtualenv and caches"

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

# Stamps: re-running is instant when pyproject.toml and constraints.txt are unchanged.
$(VENV)/.serve: pyproject.toml constraints.txt | $(BIN)/python
	$(BIN)/pip install --quiet -c constraints.txt -e .
	@touch $@

$(VENV)/.dev: pyproject.toml constraints.txt | $(BIN)/python
	$(BIN)/pip install --quiet -c constraints.txt -e ".[train,dev]"
	@touch $@ $(VENV)/.serve

<<<<<<< HEAD
run: $(VENV)/.serve
	$(BIN)/gunicorn --config backend/gunicorn.conf.py
=======
examples: $(VENV)/.serve
	@if [ -f $(EXAMPLES_DIR)/examples.json ]; then :; \
	elif [ -f $(CIFAR_ARCHIVE) ]; then $(BIN)/python -m ml.examples $(CIFAR_ARCHIVE) $(EXAMPLES_DIR); \
	else echo "no example pictures: $(CIFAR_ARCHIVE) is missing (the page shows none)"; fi

# The launcher checks the settings, sets glibc's allocator up and execs gunicorn (backend/serve.py).
run: $(VENV)/.serve examples
	$(BIN)/python -m backend.serve
>>>>>>> bench

# Debian packages the tests use: Chromium for e2e, a real redis-server for the shared rate limits.
system-deps:
	@missing=""; test -x $(CHROMIUM) || missing="chromium"; \
	  command -v redis-server >/dev/null || missing="$$missing redis-server"; \
	  if [ -n "$$missing" ]; then echo "installing Debian packages:$$missing"; \
	    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $$missing >/dev/null; fi

lint: $(VENV)/.dev
	$(BIN)/ruff check .
	npm run --silent lint

pytest: $(VENV)/.dev system-deps
	$(BIN)/pytest

npm-test:
	npm test

test: lint pytest npm-test

# The shipped model, end to end: grid search, final fit (calibrated), then outlier exposure on
# crops of real-photos/other (held-out categories excluded), then int8 quantization for serving
# (each step recalibrates it; the "Not sure" threshold from the real photos of real-photos/known).
REAL_PHOTOS_ARCHIVE ?= ../shared/data/real-photos/real-photos.tar.gz
REAL_PHOTOS ?= $(HOME)/.cache/cifar-cnn/real-photos
train: $(VENV)/.dev
	$(BIN)/python -m ml search --out models
	$(BIN)/python -m ml train --model $(MODEL_PATH)
	@test -d $(REAL_PHOTOS) || { mkdir -p $(dir $(REAL_PHOTOS)) && tar -xzf $(REAL_PHOTOS_ARCHIVE) -C $(dir $(REAL_PHOTOS)); }
	$(BIN)/python -m ml outliers --model $(MODEL_PATH) --photos $(REAL_PHOTOS)/other --out $(MODEL_PATH) --class-photos $(REAL_PHOTOS)/known
	$(BIN)/python -m ml quantize --model $(MODEL_PATH) --out $(MODEL_PATH) --class-photos $(REAL_PHOTOS)/known
	@echo "update MODEL_SHA256 in render.yaml: $$(cut -d' ' -f1 $(MODEL_PATH).sha256)"

# Both start the server with the launcher, as make run does: the performance phases with every
# per-client limit off, the attacks with them on. PREVIOUS_MODEL=path/to/old.pkl also measures the
# model shipped before, side by side.
bench: $(VENV)/.dev
	$(BIN)/python -m bench $(if $(PREVIOUS_MODEL),--previous-model $(PREVIOUS_MODEL))
	$(BIN)/python -m bench.hostile

lock: $(VENV)/.dev
	{ echo "# Exact versions for reproducible installs and deploys: pip install -c constraints.txt ..."; \
	  echo "# Regenerate after changing pyproject.toml: make lock"; \
	  $(BIN)/pip freeze --exclude-editable | grep -v '^cifar10-classifier'; } > constraints.txt

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache e2e/screenshots *.egg-info
	find . -name __pycache__ -type d -prune -exec rm -rf {} +
