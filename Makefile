# The two commands are `make run` (serve on the embedded SQLite database) and `make test`;
# demo, lint, forms and bench are for developers (see README.md).
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-stamp
HOST ?= 127.0.0.1
PORT ?= 8000

.PHONY: run test drill demo lint bench forms screenshots clean audit

$(STAMP): pyproject.toml
	@$(PYTHON) -c 'import sys; assert sys.version_info >= (3, 11), "posyandu-sync needs Python 3.11+"'
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip setuptools
	$(BIN)/pip install --quiet -e '.[dev]'
	@touch $(STAMP)

run: $(STAMP)
	$(BIN)/posyandu-sync migrate
	$(BIN)/posyandu-sync bootstrap
	$(BIN)/posyandu-sync serve --host $(HOST) --port $(PORT)

# --durations: the slowest tests, printed by every run (.ci/run must stay under 20 minutes).
test: $(STAMP)
	$(BIN)/lint-imports
	$(BIN)/pytest -q -n auto --dist loadfile --durations=15

# The fault drills alone, with their figures (they also run in `make test`): kill -9 of
# a worker (SQLite, PostgreSQL), PostgreSQL restarted (a private cluster), the disk full.
drill: $(STAMP)
	$(BIN)/pytest -q -s -m drill tests/drills

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/lint-imports

audit: $(STAMP)
	$(BIN)/python .ci/audit.py $(BIN)/pip-audit $(BIN)/python

demo: $(STAMP)
	$(BIN)/python -m simulator.demo

forms: $(STAMP)
	$(BIN)/posyandu-sync forms build --out build/forms

bench: $(STAMP)
	$(BIN)/python bench/zscore.py
	$(BIN)/python bench/intake.py --backend both --phones 50 --submissions 10000
	$(BIN)/python bench/writer.py --phones 50 --submissions 10000

# The console's main pages in headless Chromium (tests/browser/test_console.py), as PNGs.
screenshots: $(STAMP)
	POSYANDU_SCREENSHOTS=docs/screenshots POSYANDU_REQUIRE_BROWSER=1 \
		$(BIN)/pytest -q tests/browser/test_console.py -k "screenshots or growth_chart"

clean:
	rm -rf $(VENV) build var/*.db var/*.db-wal var/*.db-shm
