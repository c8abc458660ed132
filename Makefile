# The two commands of the quick start: `make run` and `make test`.
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin

.PHONY: run reset test bench lint messages makemessages lock clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)

# Dependencies: pyproject.toml declares them, requirements.lock pins every version.
$(VENV)/.run-installed: $(BIN)/python pyproject.toml requirements.lock
	$(BIN)/pip install --quiet --disable-pip-version-check -c requirements.lock -e .
	touch $@

$(VENV)/.dev-installed: $(BIN)/python pyproject.toml requirements.lock
	$(BIN)/pip install --quiet --disable-pip-version-check -c requirements.lock -e '.[dev]'
	touch $@ $(VENV)/.run-installed

# Compiled translations are build products, never committed.
messages: $(VENV)/.run-installed
	bin/ensure-packages gettext
	DEBUG=1 $(BIN)/python manage.py compilemessages --ignore '.venv' -v 0

makemessages: $(VENV)/.run-installed
	DEBUG=1 $(BIN)/python manage.py makemessages -l zh_Hans -l en --ignore '.venv/*' --ignore 'staticfiles/*' --ignore 'static/vendor/*' --no-obsolete
	DEBUG=1 $(BIN)/python manage.py makemessages -d djangojs -l zh_Hans -l en --ignore '.venv/*' --ignore 'staticfiles/*' --ignore 'static/vendor/*' --no-obsolete

# PostgreSQL, Redis, web server, Celery worker and beat; data kept in var/dev/ between runs.
run: $(VENV)/.run-installed messages
	bin/run-dev

# Stop make run's servers if any are left and delete their data: the next make run starts afresh.
reset:
	bin/run-dev --reset

test: $(VENV)/.dev-installed messages
	bin/ensure-packages chromium
	bin/with-services bin/run-checks

# The performance benchmarks of issue #12 at their default sizes, each against its bare Django
# baseline in the same run (minutes; see the README): the checkout, and the storefront pages
# and public API list.
BENCHMARKS ?= checkout pages
bench: $(VENV)/.dev-installed messages
	for name in $(BENCHMARKS); do \
	  DEBUG=1 bin/with-services $(BIN)/python bench/$$name.py || exit 1; \
	done

lint: $(VENV)/.dev-installed
	$(BIN)/ruff check . && $(BIN)/ruff format --check . && $(BIN)/lint-imports

# Re-resolve the newest allowed versions and pin them (needs the network).
lock: $(BIN)/python
	rm -rf .venv-lock && $(PYTHON) -m venv .venv-lock
	.venv-lock/bin/pip install --quiet -e '.[dev]'
	(echo "# Locked versions of every dependency (runtime and dev), used as pip constraints."; \
	 echo "# Regenerate with: make lock"; \
	 .venv-lock/bin/pip freeze --exclude-editable | grep -v '^-e') > requirements.lock
	rm -rf .venv-lock

clean:
	rm -rf $(VENV) staticfiles .pytest_cache .ruff_cache .hypothesis
