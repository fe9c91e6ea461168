# arflow — two commands set up everything on a fresh Debian machine:
#   make demo   install (system packages included), run the batch on the sample data, export
#   make test   install what the tests need and run the whole suite
SHELL := /bin/bash
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
export ARFLOW_HOME ?= $(CURDIR)/.arflow
export PREFECT_SERVER_ANALYTICS_ENABLED := false
SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)
APT_PACKAGES := tesseract-ocr tesseract-ocr-eng tesseract-ocr-spa
# the tests also drive a real browser and a real IMAP server
TEST_APT_PACKAGES := $(APT_PACKAGES) chromium dovecot-imapd openssl

.PHONY: demo test install install-test system-deps lint bench clean

demo: install
	$(BIN)/arflow db upgrade
	$(BIN)/arflow import parties data/parties.csv
	$(BIN)/arflow import orders data/orders.csv
	$(BIN)/arflow import receipts data/receipts.csv
	$(BIN)/arflow run --inbox data/invoices
	$(BIN)/arflow export

test: install-test
	$(BIN)/ruff check .
	$(BIN)/mypy
	$(BIN)/pytest

install: system-deps $(VENV)/.installed

install-test: $(VENV)/.installed
	$(MAKE) system-deps APT_PACKAGES="$(TEST_APT_PACKAGES)"

system-deps:
	@missing=""; for p in $(APT_PACKAGES); do \
	  dpkg-query -W -f='$${Status}' $$p 2>/dev/null | grep -q "install ok installed" || missing="$$missing $$p"; \
	done; \
	if [ -n "$$missing" ]; then \
	  echo "installing system packages:$$missing"; \
	  $(SUDO) apt-get update -qq && DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -qq $$missing; \
	fi

$(VENV)/.installed: pyproject.toml
	[ -x $(BIN)/python ] || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -q -e '.[dev]'
	touch $@

lint: install
	$(BIN)/ruff check .
	$(BIN)/mypy

bench: install
	$(BIN)/python bench/extract_digital.py

clean:
	rm -rf .arflow .pytest_cache .mypy_cache .ruff_cache
