.PHONY: run test bench lint format

# Install (first time) and start the embedded platform with a demo project.
run:
	bash deploy/run.sh

# Install (first time) and run every test tier.
test:
	bash deploy/test.sh

# Measure speed and memory on this machine: prints a table, writes bench.json.
# BENCH_ARGS="--quick" for a fast check, "--out PATH" elsewhere.
bench:
	bash deploy/setup.sh
	mkdir -p "$${DATA_DIR:-var}"
	.venv/bin/python manage.py migrate --noinput -v 0
	.venv/bin/python manage.py bench $(BENCH_ARGS)

lint:
	.venv/bin/ruff check .
	.venv/bin/ruff format --check .

format:
	.venv/bin/ruff format .
	.venv/bin/ruff check --fix .
