# Two commands do everything on a fresh machine (Python 3.11, Node 20):
#   make run    serve the app with the shipped model (make run HOST=0.0.0.0 PORT=5000 ...: any
#               setting of backend/config.py, where their defaults are)
#   make test   lint + every test (unit, API, e2e in Chromium, front-end)
SHELL := /bin/bash
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
CHROMIUM ?= /usr/bin/chromium

.PHONY: run test lint pytest npm-test train train-check ship bench clean lock system-deps help

help:
	@echo "make run     start the app: HOST=... PORT=... or any setting of backend/config.py (serving deps only)"
	@echo "make test    install test deps (+ Debian chromium, redis-server, postgresql) and run lint, pytest, npm test"
	@echo "make train   DATA=cifar-10-python.tar.gz: search, fit, outlier exposure, int8 -> runs/<date-time>/"
	@echo "make ship    RUN=runs/...: copy a finished run into models/, pin its hash in render.yaml"
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

# The launcher checks the settings, sets glibc's allocator up and execs gunicorn (backend/serve.py).
run: $(VENV)/.serve
	$(BIN)/python -m backend.serve

# Debian packages the tests use: Chromium for e2e, a real redis-server for the shared rate limits,
# PostgreSQL for the feedback database (the tests start a throwaway cluster of their own; Debian
# puts initdb and pg_ctl in /usr/lib/postgresql/<version>/bin, off the PATH).
system-deps:
	@missing=""; test -x $(CHROMIUM) || missing="chromium"; \
	  command -v redis-server >/dev/null || missing="$$missing redis-server"; \
	  ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 || missing="$$missing postgresql"; \
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

# Retraining, end to end, into a new run folder: runs/<date-time>/, or RUN=runs/NAME (the same
# command with the same RUN resumes: finished steps are skipped, an unfinished one resumes from its
# per-epoch checkpoints in ~/.cache/cifar-cnn/ckpt). Nothing here writes models/: make ship RUN=...
# copies a finished run there and pins its hash in render.yaml.
#   DATA    the official cifar-10-python.tar.gz, its extracted folder, or class folders (or a tar of them)
#   PHOTOS  real photos laid out like real-photos/ (known/<class>/, other/<thing>/), a folder or a tar
#           archive of one under one top folder. PHOTOS= trains without: no outlier exposure, and the
#           "Not sure" threshold is set on the validation images framed as photos.
# Steps: every prerequisite checked in seconds (ml check), grid search, final fit (calibrated), outlier
# exposure on crops of PHOTOS/other (held-out categories excluded), int8 quantization for serving
# (each step recalibrates it; the "Not sure" threshold from the real photos of PHOTOS/known).
CIFAR10_URL := https://www.cs.toronto.edu/~kriz/cifar-10-python.tar.gz
DATA ?= ../shared/data/cifar10-jpeg/train.tar.gz
PHOTOS ?= $(wildcard ../shared/data/real-photos/real-photos.tar.gz)
ifneq ($(filter train,$(MAKECMDGOALS)),)
  ifeq ($(wildcard $(DATA))$(filter keras:%,$(DATA)),)
    $(error no training data at $(DATA): download $(CIFAR10_URL), then make train DATA=path/to/cifar-10-python.tar.gz)
  endif
  ifneq ($(PHOTOS),)
    ifeq ($(wildcard $(PHOTOS)),)
      $(error no photos at $(PHOTOS): PHOTOS=a folder laid out like real-photos/ or a tar archive of one, or PHOTOS= to train without)
    endif
  endif
endif
ifneq ($(filter ship,$(MAKECMDGOALS)),)
  ifeq ($(origin RUN),undefined)
    $(error make ship RUN=runs/...: which finished run of make train to ship)
  endif
endif
ifeq ($(origin RUN),undefined)
  RUN := runs/$(shell date +%Y%m%d-%H%M%S)
endif
# The model file's name in a run folder, which make ship copies into models/: MODEL_PATH's name
# (its default: backend/config.py, which needs no virtualenv). A MODEL_PATH on make's command line
# reaches $(shell) only when passed on.
MODEL_NAME = $(notdir $(shell $(if $(MODEL_PATH),MODEL_PATH='$(MODEL_PATH)') $(PYTHON) -c \
  'from backend.config import from_env; print(from_env()["MODEL_PATH"])'))
# Each step's target is its model card, written after its artifact and sidecar: a step stopped
# before the end runs again.
SEARCHED := $(RUN)/grid_search.json
TRAINED := $(RUN)/trained/model_card.json
EXPOSED := $(RUN)/outliers/model_card.json
PHOTOS_DIR := $(if $(filter %.tar %.tar.gz %.tgz %.tar.bz2 %.tar.xz,$(PHOTOS)),$(RUN)/photos,$(PHOTOS))
CLASS_PHOTOS := $(if $(PHOTOS),--class-photos $(PHOTOS_DIR)/known)

train: $(RUN)/model_card.json
	@echo "finished: $(RUN)/$(MODEL_NAME) ($$(cut -c1-12 $(RUN)/$(MODEL_NAME).sha256)...); to serve it: make ship RUN=$(RUN)"

train-check: $(VENV)/.dev
	$(BIN)/python -m ml check --data $(DATA) --out $(RUN) $(if $(PHOTOS),--real-photos $(PHOTOS))

$(SEARCHED): | train-check
	$(BIN)/python -m ml search --data $(DATA) --out $(RUN)

$(TRAINED): $(SEARCHED)
	$(BIN)/python -m ml train --data $(DATA) --search-results $< --model $(@D)/$(MODEL_NAME)

$(EXPOSED): $(TRAINED) | $(PHOTOS_DIR)
	$(BIN)/python -m ml outliers --data $(DATA) --model $(<D)/$(MODEL_NAME) --out $(@D)/$(MODEL_NAME) \
	  --photos $(PHOTOS_DIR)/other $(CLASS_PHOTOS)

$(RUN)/model_card.json: $(if $(PHOTOS),$(EXPOSED),$(TRAINED))
	$(BIN)/python -m ml quantize --data $(DATA) --model $(<D)/$(MODEL_NAME) --out $(@D)/$(MODEL_NAME) $(CLASS_PHOTOS)

$(RUN)/photos:
	mkdir -p $@.part && tar -xf $(PHOTOS) -C $@.part --strip-components=1 && mv $@.part $@

ship: $(VENV)/.serve
	$(BIN)/python -m ml ship $(RUN)

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
