# The two commands: `make run` serves the map on demo data, `make test` runs the whole suite.
# Both install what is missing first (system packages, a virtualenv, the web map's npm packages).

PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin

.PHONY: run test setup system lint bench clean

# As root the database runs as `postgres` and, once it is up and the port bound, the web server itself as the
# system user `geoapp` (GEOAPP_SERVE_USER, created when missing): keep the checkout readable by it.
run: setup
	$(BIN)/geoapp serve

test: setup
	$(BIN)/pytest

setup: system $(VENV)/.installed static/node_modules/.installed

system:
	@scripts/setup-system.sh

$(VENV)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --disable-pip-version-check -e '.[dev]'
	touch $@

static/node_modules/.installed: static/package.json static/package-lock.json
	cd static && npm ci --no-audit --no-fund --loglevel=error
	touch $@

lint: setup
	$(BIN)/ruff check .

clean:
	-$(BIN)/geoapp db down
	rm -rf $(VENV) static/node_modules
