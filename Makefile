# The two commands of the README. Both set everything up first (idempotent).
PY := .venv/bin/python

.PHONY: setup demo test unit lint zip stack-up stack-status stack-down bench

setup:
	bash scripts/setup.sh

demo: setup
	$(PY) -m tools.demo

test: setup
	bash scripts/test.sh

# The fast tier: lint and every test that needs no service and starts no QGIS process (about a
# minute on a loaded 2-core machine; the marks are set in tests/conftest.py).
unit: setup
	bash scripts/test.sh -q -m "not stack and not slow"

lint: setup
	.venv/bin/ruff check .
	.venv/bin/ruff format --check .

zip: setup
	$(PY) -m tools.build_zip

stack-up: setup
	$(PY) -m tools.stack up

stack-status:
	$(PY) -m tools.stack status

stack-down:
	$(PY) -m tools.stack down

bench: setup
	$(PY) -m benchmarks.run
