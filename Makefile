.PHONY: run setup test test-fast test-all bench

# Set up, ingest the sample documents in data/samples into the `samples` collection (once: never into
# yours, and not again once it exists), and serve the API on http://127.0.0.1:8000
run: setup
	.venv/bin/ingest data/samples --collection samples --unless-exists
	.venv/bin/rag serve

setup:
	scripts/setup.sh

# The default test suite (unit + integration with the real model, store and SmolLM2, the web page in Debian's
# chromium); slow tests excluded.
test:
	scripts/setup.sh smollm2-135m
	scripts/chromium.sh
	.venv/bin/python -m pytest -m "not slow"

# Under a minute, nothing but the project's own code: the unit tests and the seams' contract tests on their fakes
# (memory store, fake LLM). `make test` (and CI) still run everything.
test-fast:
	.venv/bin/python -m pytest -q tests/unit
	.venv/bin/python -m pytest -q tests/integration/test_store_contract.py tests/integration/test_llm_contract.py \
		-k "memory or fake"

test-all:
	scripts/setup.sh
	scripts/chromium.sh
	.venv/bin/python -m pytest

# The speed benchmarks, with LangChain's recipe (the bench extra) beside ours; docs/BENCHMARKS.md has the rest.
bench:
	scripts/setup.sh
	.venv/bin/python -m pip install -q -e ".[dev,bench]"
	.venv/bin/python benchmarks/llm_speed.py
	.venv/bin/python benchmarks/ingest_speed.py
