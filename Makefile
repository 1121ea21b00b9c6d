# The two commands of the README. Both set everything up first (idempotent).
PY := .venv/bin/python

.PHONY: setup setup-host demo test unit lint zip stack-up stack-status stack-down bench

# `setup` is everything, the QGIS matrix's chroots included (for `make test`); the other targets
# need the host only.
setup:
	bash scripts/setup.sh

setup-host:
	LS4_LEGS=host bash scripts/setup.sh

demo: setup-host
	$(PY) -m tools.demo

test: setup
	bash scripts/test.sh

# The fast tier: lint and every test that needs no service and starts no QGIS process, on the
# host's QGIS, with no service stack (about a minute; the marks are set in tests/conftest.py).
unit: setup-host
	LS4_LEGS=host LS4_STACK=none bash scripts/test.sh -q -m "not stack and not slow"

lint: setup-host
	.venv/bin/ruff check .
	.venv/bin/ruff format --check .

zip: setup-host
	$(PY) -m tools.build_zip

stack-up: setup-host
	$(PY) -m tools.stack up

stack-status:
	$(PY) -m tools.stack status

stack-down:
	$(PY) -m tools.stack down

bench: setup-host
	$(PY) -m benchmarks.run
