# One task runner. `make run` starts the whole system; `make test` runs every test.
.PHONY: run test lint bench stop

run:
	@./scripts/bootstrap
	@.venv/bin/python -m postloanctl up

stop:
	@.venv/bin/python -m postloanctl down

test:
	@./scripts/bootstrap --test
	@.venv/bin/ruff check .
	@.venv/bin/python -m mypy
	@mvn -q -B -f engine/pom.xml -pl four-eyes-plugin test
	@.venv/bin/python -m pytest

lint:
	@./scripts/bootstrap --test
	@node lint/run.js bpmn
	@.venv/bin/ruff check .

bench:
	@./scripts/bootstrap
	@.venv/bin/python benchmarks/inspection_throughput.py
	@.venv/bin/python benchmarks/portfolio_scan.py
