# Rounds. `make run` serves the app with demo data; `make test` runs the test suite.
# Works from a fresh clone: everything goes into .venv. Extra pytest arguments: make test ARGS='-k photo -x'
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
FLASK  := $(BIN)/flask --app wsgi
PIP    := $(BIN)/pip install -q --disable-pip-version-check
ROOT   := $(filter 0,$(shell id -u))

.PHONY: run test translations messages chromium nginx screenshots bench bench-upload bench-photos bench-sqlite bench-queue bench-load wrk
.NOTPARALLEL:  # prerequisites are made in the order they are listed

# Migrate and seed the database (instance/rounds.sqlite, or DATABASE_URL), then serve it (debug off).
run: $(VENV)/.installed translations
	$(FLASK) db upgrade
	$(FLASK) seed-demo --if-empty
	@printf '\n  Rounds: http://127.0.0.1:5000  (demo accounts above; Ctrl-C stops it)\n\n'
	$(FLASK) run --host 127.0.0.1 --port 5000 --no-debug

# The test suite on SQLite (or on DATABASE_URL), browser tests in Debian's Chromium.
test: $(VENV)/.installed-test translations chromium nginx
	$(BIN)/pytest $(ARGS)

# The virtualenv; Debian keeps the venv module in python3-venv, installed here when we are root.
$(BIN)/python:
	@$(PYTHON) -c 'import venv, ensurepip' 2>/dev/null || { \
	  if [ -n "$(ROOT)" ]; then apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq python3-venv; \
	  else echo "$(PYTHON) has no venv module: install it first (sudo apt-get install python3-venv)." >&2; exit 1; fi; }
	$(PYTHON) -m venv $(VENV) || { rm -rf $(VENV); exit 1; }

# The app's dependencies (again only when pyproject.toml changes); the test extras on top.
$(VENV)/.installed: pyproject.toml | $(BIN)/python
	$(PIP) -e .
	@touch $@
$(VENV)/.installed-test: pyproject.toml | $(BIN)/python
	$(PIP) -e '.[test]'
	@touch $@ $(VENV)/.installed
$(VENV)/.installed-bench: pyproject.toml | $(BIN)/python
	$(PIP) -e '.[bench]'
	@touch $@ $(VENV)/.installed

# Compile the message catalogs, if there are any yet (.mo files are not committed).
translations:
	@if [ -n "$$(find app/translations -name '*.po' 2>/dev/null)" ]; then \
	  $(BIN)/pybabel -q compile -d app/translations; fi

# After changing user-facing text: extract it and update both catalogs, then translate the
# empty entries (see app/translations/README.md).
messages: $(VENV)/.installed
	$(BIN)/pybabel extract -F babel.cfg -k _l -k lazy_gettext -c "TRANSLATORS:" --sort-by-file \
	  --project Rounds --version 0.1.0 -o app/translations/messages.pot .
	$(BIN)/pybabel update -i app/translations/messages.pot -d app/translations \
	  --ignore-obsolete --no-fuzzy-matching

# Speed figures on a large generated site (printed, not asserted).
bench: $(VENV)/.installed
	$(BIN)/python bench/rounds.py

# A record with a 5 MB photo over emulated slow 3G, in Debian's Chromium (issue 5).
bench-upload: $(VENV)/.installed-test translations chromium
	$(BIN)/python bench/upload.py

# The photo pipeline on a 12-megapixel JPEG; four processes writing to one SQLite (issue 6).
bench-photos: $(VENV)/.installed
	$(BIN)/python bench/photos.py
bench-sqlite: $(VENV)/.installed
	$(BIN)/python bench/sqlite_writers.py
# The review queue and approve on a million records (builds them first: about 4 minutes).
bench-queue: $(VENV)/.installed
	$(BIN)/python bench/review_queue.py
# wrk and Locust against gunicorn on a million records (builds them first, unless
# ARGS='--database FILE' names a file kept by bench/review_queue.py --keep).
bench-load: $(VENV)/.installed-bench wrk
	$(BIN)/python bench/load.py $(ARGS)

# The README's screenshots, taken in Chromium from a freshly seeded demo.
screenshots: $(VENV)/.installed-test translations chromium
	$(BIN)/python scripts/screenshots.py

# Chromium for the browser tests: installed from Debian when we are root, else they are skipped.
# With a Chinese font (WenQuanYi Micro Hei: Droid Sans Fallback's glyphs, as on Android
# phones), or Chinese pages are measured and shot with placeholder boxes.
chromium:
	@if command -v chromium >/dev/null && fc-list :lang=zh 2>/dev/null | grep -q .; then :; \
	elif [ -n "$(ROOT)" ]; then echo "Installing Chromium and a Chinese font for the browser tests..."; \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium fonts-wqy-microhei fontconfig >/dev/null; \
	elif command -v chromium >/dev/null; then \
	  echo "No Chinese font: Chinese pages are measured with placeholder boxes (sudo apt-get install fonts-wqy-microhei)." >&2; \
	else printf '\n%s\n%s\n%s\n\n' "$$(printf '!%.0s' $$(seq 72))" \
	  "!!! NO CHROMIUM ON PATH: BROWSER TESTS WILL BE SKIPPED (sudo apt-get install chromium)" \
	  "$$(printf '!%.0s' $$(seq 72))"; fi

# wrk for bench-load, from Debian when we are root.
wrk:
	@command -v wrk >/dev/null || { if [ -n "$(ROOT)" ]; then \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq wrk >/dev/null; \
	  else echo "wrk is missing: sudo apt-get install wrk" >&2; exit 1; fi; }

# nginx and openssl for the deployment tests (tests/test_deploy.py), likewise.
nginx:
	@if command -v nginx >/dev/null && command -v openssl >/dev/null; then :; \
	elif [ -n "$(ROOT)" ]; then echo "Installing nginx for the deployment tests..."; \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq nginx openssl >/dev/null; \
	else printf '\n%s\n%s\n%s\n\n' "$$(printf '!%.0s' $$(seq 72))" \
	  "!!! NO NGINX ON PATH: DEPLOYMENT TESTS WILL BE SKIPPED (sudo apt-get install nginx)" \
	  "$$(printf '!%.0s' $$(seq 72))"; fi
