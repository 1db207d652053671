.PHONY: run setup test test-all bench

# Set up, ingest the sample documents in data/samples, and serve the API on http://127.0.0.1:8000
run: setup
	.venv/bin/ingest data/samples
	.venv/bin/rag serve

setup:
	scripts/setup.sh

# The default test suite (unit + integration with the real model, store and SmolLM2); slow tests excluded.
test:
	scripts/setup.sh smollm2-135m
	.venv/bin/python -m pytest -m "not slow"

test-all:
	scripts/setup.sh
	.venv/bin/python -m pytest
