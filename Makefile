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
	@.venv/bin/ruff format --check .
	@.venv/bin/python -m mypy
	@mvn -q -B -f engine/pom.xml -pl four-eyes-plugin,app test
	@.venv/bin/python -m pytest
	@# Second pass: project and engine both on PostgreSQL (throwaway cluster). tests/resilience
	@# choose their own databases (H2/SQLite and PostgreSQL both); browser and e2e run once.
	@POSTLOAN_TEST_DB=postgres POSTLOAN_TEST_ENGINE_DB=postgres .venv/bin/python -m pytest \
		-m "not browser and not e2e" --ignore=tests/resilience

lint:
	@./scripts/bootstrap --test
	@node lint/run.js bpmn
	@.venv/bin/ruff check .

# Every side-by-side benchmark, then one table of ratios against targets (var/bench/summary.json).
# BENCH_ARGS=--quick for a smoke run.
bench:
	@./scripts/bootstrap --test
	@.venv/bin/python benchmarks/bench.py $(BENCH_ARGS)
