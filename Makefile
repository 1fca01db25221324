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

.PHONY: help dev test lint unit sam-check sam-build bench venv clean chromium lock audit soak clients screenshots nginx

help:
	@echo "make dev    - run the gateway locally (embedded DynamoDB, simulated upstreams) on :8787"
	@echo "make test   - lint, the whole test suite, and the offline SAM checks (what CI runs)"
	@echo "make audit  - pip-audit of the pinned lock files (part of make test)"
	@echo "make screenshots - refresh docs/screenshots/ from the browser tests"
	@echo "make soak   - the long soak test (mixed traffic, 3 orgs, 30 keys, faults) -> docs/LOAD.md"
	@echo "make bench  - ByteSpike vs LiteLLM proxy vs Portkey -> docs/BENCHMARKS.md (~20 min; BENCH_QUICK=1 for a short run)"

# The venv is installed from the pinned lock file (what `make audit` checks), then the package itself.
$(VENV)/.installed: pyproject.toml requirements.lock
	@test -n "$(PYTHON312)" || { echo "python3.12 not found (install it, e.g. pyenv install 3.12)"; exit 1; }
	@test -x $(PY) || $(PYTHON312) -m venv $(VENV)
	@$(VENV)/bin/python -m pip install --quiet --disable-pip-version-check uv
	@$(VENV)/bin/uv pip install --quiet --python $(PY) -r requirements.lock
	@$(VENV)/bin/uv pip install --quiet --python $(PY) --no-deps -e .
	@touch $@

# Re-pin after changing dependencies: the dev/test lock (every platform) and the Lambda layer's
# (arm64 manylinux, what `sam build` ships). Existing pins are kept unless they must move.
lock: $(VENV)/.installed
	$(VENV)/bin/uv pip compile pyproject.toml --extra dev --universal --python-version 3.12 -q -o requirements.lock
	$(VENV)/bin/uv pip compile layers/shared/requirements.in --python-version 3.12 \
		--python-platform aarch64-manylinux2014 -c requirements.lock -q -o layers/shared/requirements.txt

# Known vulnerabilities in every pinned dependency (PyPI's advisory data, the registry's own JSON API).
# Fails on any known vulnerability. Packages whose advisories cannot be fetched (a package mirror
# without per-release JSON) are reported as "NOT AUDITED: N packages", loudly, here and again as the
# last output of `make test`; fatal only with AUDIT_STRICT=1 (docs/SECURITY.md, dependency audit).
AUDITVENV := .venv-audit
$(AUDITVENV)/.installed:
	@test -x $(AUDITVENV)/bin/python || $(PYTHON312) -m venv $(AUDITVENV)
	@$(AUDITVENV)/bin/python -m pip install --quiet --disable-pip-version-check uv
	@$(AUDITVENV)/bin/uv pip install --quiet --python $(AUDITVENV)/bin/python "pip-audit==2.10.1"
	@touch $@

audit: $(AUDITVENV)/.installed
	@$(AUDITVENV)/bin/python tests/infra/audit_report.py $(AUDITVENV)/bin/pip-audit -r requirements.lock \
		-r layers/shared/requirements.txt

venv: $(VENV)/.installed

dev: venv
	@$(PY) -m bytespike.local --port $${PORT:-8787}

lint: venv
	$(VENV)/bin/ruff check src tests bench functions

unit: venv
	$(PY) -m pytest tests

test: chromium nginx lint audit clients unit sam-check
	@cat .audit-summary 2>/dev/null || true  # the audit's verdict, last, where CI's log ends

# The third-party client suite's pinned clients (tests/clients/: Claude Code, the Vercel AI SDK),
# from the npm registry into .clients/ (gitignored; npm's cache makes re-runs cheap). A registry
# that cannot be reached is reported loudly and those tests skip; any other failure stops here.
clients: venv
	$(PY) -m tests.clients install

# Refresh docs/screenshots/*.png from the browser tests (a plain test run never writes them).
screenshots: chromium venv
	BYTESPIKE_SCREENSHOTS=1 $(PY) -m pytest tests/browser -q

# Debian's Chromium for the Playwright browser tests (tests/browser/): Playwright's own browser
# download is not possible here. Needs root (CI runs as root); without it the browser tests skip.
chromium:
	@command -v chromium >/dev/null || (apt-get update && apt-get install -y chromium) \
		|| echo "warning: could not install chromium; the browser tests will be skipped"

# Debian's nginx for tests/e2e/test_front_door_headers.py (estimated_credits behind a reverse proxy).
nginx:
	@command -v nginx >/dev/null || test -x /usr/sbin/nginx || apt-get install -y nginx-light \
		|| (apt-get update && apt-get install -y nginx-light) || echo "warning: could not install nginx; that test will be skipped"

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
	@for d in MessagesFunction ChatFunction ResponsesFunction GeminiFunction PlaygroundFunction ReleaseFunction SweeperFunction AlertsFunction EmbeddingsFunction RerankFunction ImagesFunction AudioFunction VideoFunction VideoPollFunction SharedLayer; do test -d .aws-sam/build/$$d || { echo "missing build output $$d"; exit 1; }; done
	@test -d .aws-sam/build/SharedLayer/python/bytespike || { echo "layer lacks the bytespike package"; exit 1; }

# ---------------------------------------------------------------- soak (docs/LOAD.md)
# The long form of tests/soak: mixed traffic on 3 orgs / 30 keys with faults injected, then an exact
# reconciliation; rewrites the report section of docs/LOAD.md.
soak: venv
	$(PY) -m bench.soak --duration $${SOAK_SECONDS:-600} --requests 20000 --concurrency 32

# ---------------------------------------------------------------- benchmarks (docs/BENCHMARKS.md)
BENCHVENV := .venv-bench
LITELLMVENV := .venv-litellm
PORTKEY_DIR := .bench/portkey
# Pinned peers. LiteLLM 1.82.7, 1.82.8 and 1.107.x were trojaned (shared/reference/peers.md);
# 1.106.12 is the last release before 1.107, the line the issue's orientation figures come from.
LITELLM_VERSION ?= 1.106.12
# Portkey: bench/portkey/package.json pins @portkey-ai/gateway 1.15.2 and overrides
# @hono/node-server to 1.14.1 (newer ones break Portkey's streaming on Node, "TypeError:
# immutable", Portkey issue #1389); package-lock.json pins the rest. `npm ci` installs exactly
# the lock into .bench/portkey (ignored: nothing installed is committed). Re-pin with
# `npm install --package-lock-only --prefix bench/portkey`.
PORTKEY_SERVER := $(PORTKEY_DIR)/node_modules/@portkey-ai/gateway/build/start-server.js

$(BENCHVENV)/.installed: | $(VENV)/.installed
	@test -x $(BENCHVENV)/bin/python || $(VENV)/bin/uv venv --quiet --python $(PYTHON312) $(BENCHVENV)
	@$(VENV)/bin/uv pip install --quiet --python $(BENCHVENV)/bin/python httpx uvloop
	@$(VENV)/bin/uv pip install --quiet --python $(BENCHVENV)/bin/python matplotlib \
		|| echo "matplotlib unavailable: docs/BENCHMARKS.md will have no charts"
	@touch $@

$(LITELLMVENV)/.installed-$(LITELLM_VERSION): | $(VENV)/.installed
	@case "$(LITELLM_VERSION)" in 1.82.7|1.82.8|1.107.*) echo "refusing litellm $(LITELLM_VERSION): compromised release"; exit 1;; esac
	@test -x $(LITELLMVENV)/bin/python || $(VENV)/bin/uv venv --quiet --python $(PYTHON312) $(LITELLMVENV)
	@$(VENV)/bin/uv pip install --quiet --compile-bytecode --python $(LITELLMVENV)/bin/python "litellm[proxy]==$(LITELLM_VERSION)"
	@touch $@

# The target is the file Portkey starts from, so a half-installed tree is never taken as installed.
$(PORTKEY_SERVER): bench/portkey/package.json bench/portkey/package-lock.json
	@command -v node >/dev/null || { echo "node not found (Node 20 is needed for the Portkey gateway)"; exit 1; }
	@rm -rf $(PORTKEY_DIR) && mkdir -p $(PORTKEY_DIR)
	@cp bench/portkey/package.json bench/portkey/package-lock.json $(PORTKEY_DIR)/
	@npm ci --prefix $(PORTKEY_DIR) --no-audit --no-fund --loglevel=error
	@test -f $@ || { echo "npm ci did not produce $@"; exit 1; }
	@touch $@

bench: venv $(BENCHVENV)/.installed $(LITELLMVENV)/.installed-$(LITELLM_VERSION) $(PORTKEY_SERVER)
	$(BENCHVENV)/bin/python bench/run.py

clean:
	rm -rf .aws-sam .aws-sam-expanded.json .pytest_cache .ruff_cache
