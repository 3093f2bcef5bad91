# Two entry points, each complete on a fresh Debian machine:
#   make demo   set up, then release demo-app 1.1.0 in a local sandbox (bare git origin,
#               feed folder, SQLite) through `invoke release.deploy`
#   make test   set up (Python venv, plus sshd and PostgreSQL from apt when missing),
#               then ruff (check and format), mypy, the docs drift check, the strict site
#               build and both test
#               tiers
# While working: make test-fast (fakes only, about a minute), make test-slow (real
# servers and subprocesses), make (import contracts and module sizes).
VENV ?= .venv
PY := $(VENV)/bin/python
BIN := $(abspath $(VENV)/bin)
SANDBOX ?= .sandbox
DEMO_VERSION ?= 1.1.0
CHECKED := opsbooks opsbooks_playbooks tests bench tasks.py scripts
# `make test` runs the suite on this many pytest-xdist workers: most tests wait on real
# servers and subprocesses, so two workers on two cores nearly halve the run
JOBS ?= auto

$(VENV)/.installed: pyproject.toml
	bash scripts/system-deps.sh demo
	python3 -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -e '.[dev]'
	touch $@

demo: $(VENV)/.installed
	rm -rf $(SANDBOX)
	$(PY) -m opsbooks_playbooks.actions.sandbox create $(SANDBOX)
	$(PY) -m opsbooks_playbooks.actions.sandbox bump $(SANDBOX) --version $(DEMO_VERSION)
	cd $(SANDBOX) && $(BIN)/invoke release.deploy --version $(DEMO_VERSION) --dry-run
	cd $(SANDBOX) && OPSBOOKS_USER=$${OPSBOOKS_USER:-demo-operator} \
		$(BIN)/invoke release.deploy --version $(DEMO_VERSION) --yes
	cd $(SANDBOX) && $(BIN)/opsbooks history
	cd $(SANDBOX) && $(BIN)/opsbooks audit verify last
	@echo "The sandbox is in $(SANDBOX)/: feed/feed.json, announcements.log, .opsbooks/runs/."

lint: $(VENV)/.installed
	$(VENV)/bin/ruff check $(CHECKED)
	$(VENV)/bin/ruff format --check $(CHECKED)
	$(VENV)/bin/mypy opsbooks scripts/check-sizes.py
	$(VENV)/bin/lint-imports
	$(PY) scripts/check-sizes.py
	$(VENV)/bin/opsbooks lint

torture: $(VENV)/.installed
	bash scripts/torture.sh

# The site serves its own copy of Mermaid (no CDN): fetched once, pinned by sha256.
MERMAID_JS := docs/assets/vendor/mermaid.min.js

$(MERMAID_JS): scripts/fetch-mermaid.sh
	bash scripts/fetch-mermaid.sh $@

# The documentation site, built strictly (a broken link or nav entry fails it).
site: $(VENV)/.installed $(MERMAID_JS)
	NO_MKDOCS_2_WARNING=1 $(VENV)/bin/mkdocs build --strict --site-dir build/site

docs-check: $(VENV)/.installed
	$(VENV)/bin/opsbooks docs --check
	$(PY) scripts/gen-reference.py --check

test: $(VENV)/.installed
	bash scripts/system-deps.sh
	$(MAKE) --no-print-directory lint docs-check site
	$(PY) -m pytest -q -n $(JOBS)

# Fakes only, no subprocess, server or sleep: about a minute.
test-fast: $(VENV)/.installed
	$(PY) -m pytest -q -m "not slow"

# Real sh, git, sshd, PostgreSQL and the CLI in subprocesses.
test-slow: $(VENV)/.installed
	bash scripts/system-deps.sh
	$(MAKE) --no-print-directory $(MERMAID_JS)
	$(PY) -m pytest -q -m slow

.PHONY: demo lint docs-check site test test-fast test-slow torture
