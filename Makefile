VENV ?= .venv
PY := $(VENV)/bin/python

$(VENV)/.installed: pyproject.toml
	python3 -m venv $(VENV)
	$(PY) -m pip install -q -e '.[dev]'
	touch $@

test: $(VENV)/.installed
	bash scripts/system-deps.sh
	$(VENV)/bin/ruff check opsbooks
	$(VENV)/bin/mypy opsbooks
	$(PY) -m pytest -q

.PHONY: test
