# Two set-up commands on a fresh machine: `make demo` and `make test` (see README).
SHELL := /bin/bash
PYTHON ?= python3
TOOLS := .tools
UV := $(TOOLS)/bin/uv
UV_VERSION := 0.13.8
VENV := .venv
export UV_PROJECT_ENVIRONMENT := $(VENV)
export UV_PYTHON := $(shell command -v $(PYTHON))
export HF_HUB_OFFLINE := 1

.PHONY: install install-runtime demo test lint bench clean

$(UV):
	$(PYTHON) -m venv $(TOOLS)
	$(TOOLS)/bin/pip install --quiet --disable-pip-version-check uv==$(UV_VERSION)

# Full development environment: the project, its CLI, test and CDK tooling. Idempotent: a no-op when uv.lock is unchanged.
$(VENV)/.installed-dev: $(UV) uv.lock pyproject.toml
	$(UV) sync --frozen --all-extras --all-groups --quiet
	@touch $@

# Runtime only (what the demo needs, much smaller). Skipped when the full environment is already installed,
# which is a superset; otherwise it drops the dev marker, since a runtime-only sync removes the dev tools.
$(VENV)/.installed-runtime: $(UV) uv.lock pyproject.toml
	@if [ -f $(VENV)/.installed-dev ] && [ $(VENV)/.installed-dev -nt uv.lock ] && [ $(VENV)/.installed-dev -nt pyproject.toml ]; then \
		echo "full environment already installed"; \
	else \
		rm -f $(VENV)/.installed-dev; \
		$(UV) sync --frozen --no-default-groups --extra onnx --quiet; \
	fi
	@touch $@

install: $(VENV)/.installed-dev
install-runtime: $(VENV)/.installed-runtime

demo: install-runtime
	@$(VENV)/bin/python -m helpdesk.demo

test: install
	$(VENV)/bin/ruff check .
	$(VENV)/bin/python -m pytest $(PYTEST_ARGS)

lint: install
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .

bench: install
	$(VENV)/bin/python -m bench.run_all $(BENCH_ARGS)

clean:
	rm -rf $(VENV) $(TOOLS) .helpdesk .pytest_cache cdk/cdk.out
