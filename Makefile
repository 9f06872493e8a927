# Media Vault: every command a developer or CI needs. `make help` lists them.
SHELL := /bin/bash
.DEFAULT_GOAL := help

# Lambda's runtime is Python 3.12: use it from PATH or from pyenv, with nobody selecting it by hand.
PYENV_ROOT ?= $(HOME)/.pyenv
PYTHON312 ?= $(or $(firstword $(wildcard $(PYENV_ROOT)/versions/3.12*/bin/python3.12 /root/.pyenv/versions/3.12*/bin/python3.12)),$(shell command -v python3.12 2>/dev/null))
PYTHON313 ?= $(or $(firstword $(wildcard $(PYENV_ROOT)/versions/3.13*/bin/python3.13 /root/.pyenv/versions/3.13*/bin/python3.13)),$(shell command -v python3.13 2>/dev/null))

VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
LS_VENV := .venv-localstack
LS_STAMP := $(LS_VENV)/.installed
BUILD := .build
# The web console (clients/web): npm ci from the lock file, then an esbuild bundle in dist/.
WEB := clients/web
WEB_STAMP := $(WEB)/node_modules/.installed
WEB_DIST := $(WEB)/dist/index.html
# The browser tier drives Debian's Chromium (Playwright's own browser download cannot work here).
CHROMIUM := /usr/bin/chromium
SUDO := $(if $(filter 0,$(shell id -u)),,sudo)
STAGE ?= dev
export AWS_DEFAULT_REGION ?= us-east-1

.PHONY: help install web test-web test-browser run jobs test test-unit test-functional test-integration test-cli test-localstack fuzz load audit lint package localstack bench clean

help: ## This list
	@grep -hE '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-18s %s\n", $$1, $$2}'

LAYER_RECIPES := $(wildcard layers/*/requirements.txt)
# Recipe lines `# no-deps: <spec>` are installed without dependencies (see layers/ml/requirements.txt).
NO_DEPS_SPECS = $(shell sed -n 's/^# *no-deps: *//p' $(LAYER_RECIPES))

$(STAMP): requirements.txt requirements-dev.txt $(LAYER_RECIPES) clients/cli/pyproject.toml
	@test -n "$(PYTHON312)" || { echo "Python 3.12 not found (looked in PATH and $(PYENV_ROOT)/versions)"; exit 1; }
	test -x $(PY) || $(PYTHON312) -m venv $(VENV)
	$(PY) -m pip install --quiet --disable-pip-version-check --upgrade 'pip<26.3'  # chalice 1.34 needs pip<26.3
	$(PY) -m pip install --quiet --disable-pip-version-check -r requirements-dev.txt
	$(if $(NO_DEPS_SPECS),$(PY) -m pip install --quiet --disable-pip-version-check --no-deps $(NO_DEPS_SPECS))
	$(PY) -m pip install --quiet --disable-pip-version-check -e ./clients/cli
	touch $@

install: $(STAMP) $(WEB_DIST) ## Create .venv (Python 3.12) with runtime and dev dependencies; build the console

$(WEB_STAMP): $(WEB)/package.json $(WEB)/package-lock.json
	@command -v npm >/dev/null || { echo "npm not found: the web console needs Node 20+ and npm"; exit 1; }
	cd $(WEB) && npm ci --no-audit --no-fund
	touch $@

$(WEB_DIST): $(WEB_STAMP) $(wildcard $(WEB)/src/*.ts $(WEB)/static/*) $(WEB)/build.mjs $(WEB)/tsconfig.json
	cd $(WEB) && npm run build

web: $(WEB_DIST) ## Build the web console into clients/web/dist (type check, then bundle)

$(CHROMIUM):
	$(SUDO) apt-get update && $(SUDO) DEBIAN_FRONTEND=noninteractive apt-get install -y chromium

$(LS_STAMP): infra/local/localstack-requirements.txt
	@test -n "$(PYTHON313)" || { echo "Python 3.13 not found (LocalStack host mode needs it)"; exit 1; }
	test -x $(LS_VENV)/bin/python || $(PYTHON313) -m venv $(LS_VENV)
	$(LS_VENV)/bin/python -m pip install --quiet --disable-pip-version-check -r infra/local/localstack-requirements.txt
	touch $@

run: $(STAMP) $(WEB_DIST) ## Start the whole system on loopback, web console included (EMULATOR=localstack to use LocalStack)
	$(PY) -m infra.local.stack $(if $(EMULATOR),--emulator $(EMULATOR),)

jobs: $(STAMP) ## Run every scheduled job (@app.schedule) once against the running `make run` stack; print what each did
	$(PY) -m infra.local.jobs $(if $(EMULATOR),--emulator $(EMULATOR),)

test: $(STAMP) $(LS_STAMP) $(WEB_DIST) $(CHROMIUM) ## Every test tier: console unit, unit, functional, integration, LocalStack, browser
	cd $(WEB) && npm test
	$(PY) -m pytest tests -q --ignore=tests/perf

test-unit: $(STAMP) ## Unit tests only (no sockets)
	$(PY) -m pytest tests/unit -q

test-functional: $(STAMP) ## Functional tests (Chalice test client + moto)
	$(PY) -m pytest tests/functional -q

test-integration: $(STAMP) ## Integration tests (real processes on loopback)
	$(PY) -m pytest tests/integration -q

test-cli: $(STAMP) ## The mediavault command against a local stack
	$(PY) -m pytest tests/cli -q

test-web: $(WEB_STAMP) ## The console's own logic (clients/web/test) under Node's test runner
	cd $(WEB) && npm test

test-browser: $(STAMP) $(WEB_DIST) $(CHROMIUM) ## The web console in headless Chromium (screenshots: .build/screenshots/)
	$(PY) -m pytest tests/browser -q

test-localstack: $(STAMP) $(LS_STAMP) ## The LocalStack tier
	$(PY) -m pytest tests/localstack -q

fuzz: $(STAMP) ## Schemathesis on a local stack as every role, ~4,200 requests (report: .build/fuzz-findings.md)
	@mkdir -p $(BUILD)
	FUZZ_EXAMPLES=$${FUZZ_EXAMPLES:-10} FUZZ_REPORT=$${FUZZ_REPORT:-$(BUILD)/fuzz-findings.md} $(PY) -m pytest tests/fuzz -q

load: $(STAMP) ## Locust on loopback: mixed traffic and GET /health at 8 and 32 clients, 20 s a run (~3 min)
	$(PY) -m tests.load.run

audit: $(STAMP) ## pip-audit of every installed package (runtime, layers, dev): fails on a vulnerable pin with a fix
	$(PY) .ci/audit.py

lint: $(STAMP) ## ruff and mypy (strict on shared/)
	$(PY) -m ruff check .
	$(PY) -m ruff format --check .
	$(PY) -m mypy

localstack: $(LS_STAMP) ## Run LocalStack on :4566 (Docker if an engine runs, else host mode)
	$(PY) -m infra.local.localstack

package: $(STAMP) $(WEB_DIST) ## Build the SAM template, function package, layers and the console's files (.build/console/)
	$(PY) -m infra.package --stage $(STAGE) --out $(BUILD)

bench: $(STAMP) $(WEB_DIST) $(CHROMIUM) ## Benchmarks (figures as ratios against a baseline of the same run)
	$(PY) -m pytest tests/perf -q -s -p no:randomly

clean: ## Remove build output, caches and virtualenvs
	rm -rf $(BUILD) vendor .pytest_cache .mypy_cache .ruff_cache $(VENV) $(LS_VENV) $(WEB)/node_modules $(WEB)/dist
	find . -name __pycache__ -type d -prune -exec rm -rf {} +
