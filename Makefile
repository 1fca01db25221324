# ByteSpike - the README's two commands are `make dev` and `make test`.
SHELL := /bin/bash
.DEFAULT_GOAL := help

# Python 3.12, the Lambda runtime's version (pyenv's shim may exist without the version active).
PYTHON312 ?= $(shell for c in python3.12 $$HOME/.pyenv/versions/3.12*/bin/python3.12 /usr/local/bin/python3.12 /usr/bin/python3.12; do \
	  $$c -c 'import sys; assert sys.version_info[:2] == (3, 12)' >/dev/null 2>&1 && { echo $$c; break; }; done)
VENV := .venv
SAMVENV := .venv-sam
PY := $(VENV)/bin/python
export BYTESPIKE_SRC := $(CURDIR)/src

.PHONY: help dev test lint unit sam-check sam-build bench venv clean chromium

help:
	@echo "make dev    - run the gateway locally (embedded DynamoDB, simulated upstreams) on :8787"
	@echo "make test   - lint, the whole test suite, and the offline SAM checks (what CI runs)"

$(VENV)/.installed: pyproject.toml
	@test -n "$(PYTHON312)" || { echo "python3.12 not found (install it, e.g. pyenv install 3.12)"; exit 1; }
	@test -x $(PY) || $(PYTHON312) -m venv $(VENV)
	@$(VENV)/bin/python -m pip install --quiet --disable-pip-version-check uv
	@$(VENV)/bin/uv pip install --quiet --python $(PY) -e ".[dev]"
	@touch $@

venv: $(VENV)/.installed

dev: venv
	@$(PY) -m bytespike.local --port $${PORT:-8787}

lint: venv
	$(VENV)/bin/ruff check src tests bench functions

unit: venv
	$(PY) -m pytest tests

test: chromium lint unit sam-check

# Debian's Chromium for the Playwright browser tests (tests/browser/): Playwright's own browser
# download is not possible here. Needs root (CI runs as root); without it the browser tests skip.
chromium:
	@command -v chromium >/dev/null || (apt-get update && apt-get install -y chromium) \
		|| echo "warning: could not install chromium; the browser tests will be skipped"

# ---------------------------------------------------------------- SAM (offline, no Docker)
$(SAMVENV)/.installed:
	@test -x $(SAMVENV)/bin/python || $(PYTHON312) -m venv $(SAMVENV)
	@$(SAMVENV)/bin/python -m pip install --quiet --disable-pip-version-check uv
	@$(SAMVENV)/bin/uv pip install --quiet --python $(SAMVENV)/bin/python "aws-sam-cli>=1.120" "cfn-lint>=1.20"
	@touch $@

sam-check: $(SAMVENV)/.installed venv
	SAM_CLI_TELEMETRY=0 $(SAMVENV)/bin/sam validate --lint --region us-east-1
	AWS_DEFAULT_REGION=us-east-1 $(SAMVENV)/bin/python tests/infra/expand_template.py template.yaml > .aws-sam-expanded.json
	$(SAMVENV)/bin/cfn-lint --regions us-east-1 -t .aws-sam-expanded.json
	$(MAKE) sam-build

sam-build: $(SAMVENV)/.installed
	PATH="$(dir $(PYTHON312)):$$PATH" SAM_CLI_TELEMETRY=0 $(SAMVENV)/bin/sam build --region us-east-1 \
		--build-dir .aws-sam/build
	@for d in MessagesFunction ChatFunction PlaygroundFunction ReleaseFunction SweeperFunction EmbeddingsFunction RerankFunction ImagesFunction AudioFunction VideoFunction VideoPollFunction SharedLayer; do test -d .aws-sam/build/$$d || { echo "missing build output $$d"; exit 1; }; done
	@test -d .aws-sam/build/SharedLayer/python/bytespike || { echo "layer lacks the bytespike package"; exit 1; }

clean:
	rm -rf .aws-sam .aws-sam-expanded.json .pytest_cache .ruff_cache
