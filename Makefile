# Two commands a fresh machine needs: `make demo` and `make test`.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed

.PHONY: demo test lint bench bench-pure clean

$(STAMP): pyproject.toml setup.py purposetag/_speedups.c
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	rm -f purposetag/_speedups*.so  # a failed (optional) build must not leave an old one
	$(PY) -m pip install -q -e ".[test]"
	touch $(STAMP)

demo: $(STAMP)
	$(PY) -m purposetag demo

lint: $(STAMP)
	$(PY) -m ruff check purposetag tests benchmarks
	$(PY) -m mypy --strict purposetag

# The suite runs twice: with the C accelerator (which must have built) and without it.
test: lint
	PURPOSETAG_REQUIRE_SPEEDUPS=1 $(PY) -m pytest
	PURPOSETAG_PURE_PYTHON=1 $(PY) -m pytest

bench: $(STAMP)
	$(PY) benchmarks/run.py

bench-pure: $(STAMP)
	PURPOSETAG_PURE_PYTHON=1 $(PY) benchmarks/run.py

clean:
	rm -rf $(VENV) .mypy_cache .ruff_cache
