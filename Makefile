# The two commands of the README. Both set everything up first (idempotent).
PY := .venv/bin/python

.PHONY: setup demo test lint zip stack-up stack-status stack-down bench

setup:
	bash scripts/setup.sh

demo: setup
	$(PY) -m tools.demo

test: setup
	bash scripts/test.sh

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
