# Two commands for a newcomer: `make run` (the app, with demo data) and `make test` (the suite).
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin


.PHONY: run test venv dev-venv lint migrate clean browsers worker

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

venv: $(BIN)/python
	$(BIN)/pip install --quiet -r requirements.txt

dev-venv: $(BIN)/python
	$(BIN)/pip install --quiet -r requirements-dev.txt

run: export SMS_DEFAULT_BACKEND ?= simulated
run: export SMS_PUBLIC_URL ?= http://127.0.0.1:8000
run: venv
	$(BIN)/python manage.py migrate --noinput
	$(BIN)/python manage.py load_demo
	$(BIN)/python manage.py runserver 127.0.0.1:8000

# A Celery worker with the beat schedule (dispatch, recovery, delivery checks); needs a broker:
#   CELERY_BROKER_URL=redis://127.0.0.1:6379/0 make worker
worker: venv
	@test -n "$$CELERY_BROKER_URL" || (echo "Set CELERY_BROKER_URL (e.g. redis://127.0.0.1:6379/0) first" && exit 1)
	@mkdir -p var
	$(BIN)/celery -A texting worker --beat --schedule var/celerybeat-schedule --loglevel=INFO

# Chromium for the browser tests comes from Debian's package (never `playwright install`).
browsers:
	@test -x /usr/bin/chromium || (command -v apt-get >/dev/null && (apt-get install -y -q chromium >/dev/null 2>&1 || sudo apt-get install -y -q chromium >/dev/null)) || echo "chromium not installed: browser tests will be skipped"

lint: dev-venv
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/python manage.py makemigrations --check --dry-run
	$(BIN)/python manage.py check

test: dev-venv browsers lint
	$(BIN)/python -m pytest $(PYTEST_ARGS)

clean:
	rm -rf $(VENV) staticfiles db.sqlite3 db.sqlite3-*
