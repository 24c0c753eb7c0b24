.PHONY: run test lint format

# Install (first time) and start the embedded platform with a demo project.
run:
	bash deploy/run.sh

# Install (first time) and run every test tier.
test:
	bash deploy/test.sh

lint:
	.venv/bin/ruff check .
	.venv/bin/ruff format --check .

format:
	.venv/bin/ruff format .
	.venv/bin/ruff check --fix .
