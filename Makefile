# CNN Lab. `make run` serves the app, `make test` runs every test, `make bench`
# prints the benchmarks. Each sets up .venv first and reinstalls only when the
# requirements files change.
SHELL := /bin/bash
.SHELLFLAGS := -o pipefail -c
# pip's local indexes log one harmless warning per package; keep the output readable.
PIP_QUIET := 2>&1 | { grep -v '^WARNING: Location .* is ignored' || true; }
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
PORT ?= 8501
# make run serves on this machine only; `make run ADDRESS=0.0.0.0` serves every interface.
ADDRESS ?= 127.0.0.1
SHARED_DATASETS ?= ../shared/datasets
export CNNLAB_DATA_DIR ?= $(CURDIR)/data
FASHION_DEB_DIR := /usr/share/datasets/fashion-mnist

.PHONY: run test test-fast bench lint format data browser clean

$(VENV)/.runtime-installed: requirements.txt
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --disable-pip-version-check -r requirements.txt $(PIP_QUIET)
	@touch $@

$(VENV)/.dev-installed: requirements-dev.txt $(VENV)/.runtime-installed
	$(PY) -m pip install --quiet --disable-pip-version-check -r requirements-dev.txt $(PIP_QUIET)
	@touch $@

# The offline datasets come first where ../shared/datasets exists; a failed preparation
# never stops the app (training then downloads through torchvision or says what is missing).
run: $(VENV)/.runtime-installed
	@if [ -d "$(SHARED_DATASETS)" ]; then $(MAKE) --no-print-directory data || \
		echo "warning: could not prepare the offline datasets (make data); starting anyway"; fi
	$(VENV)/bin/streamlit run app.py --server.port $(PORT) --server.address $(ADDRESS)

# Offline datasets (make run calls this too): the shared CIFAR-10 copy, the MNIST test set
# and Debian's Fashion-MNIST, placed where cnnlab.data looks (see README).
data:
	@mkdir -p "$(CNNLAB_DATA_DIR)"
	@if [ ! -d "$(CNNLAB_DATA_DIR)/cifar10-jpeg/test" ] && [ -f "$(SHARED_DATASETS)/cifar10-jpeg.tar.gz" ]; then \
		echo "extracting CIFAR-10 copy into $(CNNLAB_DATA_DIR)"; \
		tar -xzf "$(SHARED_DATASETS)/cifar10-jpeg.tar.gz" -C "$(CNNLAB_DATA_DIR)"; fi
	@if [ -d "$(SHARED_DATASETS)/mnist" ]; then \
		mkdir -p "$(CNNLAB_DATA_DIR)/MNIST/raw" && cp -u "$(SHARED_DATASETS)"/mnist/*.gz "$(CNNLAB_DATA_DIR)/MNIST/raw/"; fi
	@if [ ! -d "$(FASHION_DEB_DIR)" ] && [ "$$(id -u)" = 0 ]; then \
		(apt-get install -y -q dataset-fashion-mnist >/dev/null 2>&1 || \
		 (apt-get update -q >/dev/null && apt-get install -y -q dataset-fashion-mnist >/dev/null)) || \
		echo "warning: could not install dataset-fashion-mnist"; fi
	@if [ -d "$(FASHION_DEB_DIR)" ]; then \
		mkdir -p "$(CNNLAB_DATA_DIR)/FashionMNIST/raw" && cp -u "$(FASHION_DEB_DIR)"/*.gz "$(CNNLAB_DATA_DIR)/FashionMNIST/raw/"; fi

# Debian's Chromium for the Playwright tests (Playwright cannot download a browser here).
browser:
	@if [ ! -x /usr/bin/chromium ] && [ "$$(id -u)" = 0 ]; then \
		echo "installing Debian chromium for the browser tests"; \
		(apt-get install -y -q chromium >/dev/null 2>&1 || \
		 (apt-get update -q >/dev/null && apt-get install -y -q chromium >/dev/null)); fi

lint: $(VENV)/.dev-installed
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .

format: $(VENV)/.dev-installed
	$(VENV)/bin/ruff check --fix .
	$(VENV)/bin/ruff format .

test: $(VENV)/.dev-installed data browser lint
	$(PY) -m pytest

# Unit and AppTests only: no browser, no full-dataset training.
test-fast: $(VENV)/.dev-installed
	$(PY) -m pytest -m "not e2e and not slow"

bench: $(VENV)/.dev-installed data
	$(PY) -m bench

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache
