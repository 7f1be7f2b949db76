# The two commands of the README, `make run` and `make test`, and `make serve` for production.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: run serve test install messages check

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)

$(STAMP): requirements.txt requirements-dev.txt | $(BIN)/python
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -r requirements-dev.txt
	touch $(STAMP)

install: $(STAMP)

# Start the demo on http://127.0.0.1:8000 (embedded SQLite unless DATABASE_URL is set).
run: install
	$(BIN)/python manage.py migrate --no-input
	$(BIN)/python manage.py seed_demo --if-empty
	$(BIN)/python manage.py runserver 127.0.0.1:8000

# The production stack on the PostgreSQL that DATABASE_URL names (README, Production).
serve: install
	scripts/serve.sh

# The whole suite against a throwaway PostgreSQL server of its own.
test: install
	scripts/with-test-postgres.sh $(BIN)/python -m pytest $(PYTEST_ARGS)

check: install
	$(BIN)/ruff check .
	$(BIN)/python manage.py makemigrations --check --dry-run
	$(BIN)/python manage.py check

# Refresh the Chinese catalog after changing strings (needs gettext's msgfmt).
messages: install
	$(BIN)/python manage.py makemessages -l zh_Hans --no-obsolete -i ".venv/*" -i "var/*" -i "tests/*" -i "bench/*"
	$(BIN)/python manage.py compilemessages -l zh_Hans --ignore ".venv/*"
