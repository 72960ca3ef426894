# The two commands a new user needs: `make run` and `make test` (see README.md).
SHELL := /bin/bash
PYTHON ?= $(shell command -v python3.11 2>/dev/null || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.requirements-installed
TEST_PGDATA := var/pgtest
CHROMIUM := $(shell command -v chromium 2>/dev/null || command -v chromium-browser 2>/dev/null)

# Translations: the .po catalogues are the source (committed); the .mo files are built
# here, after the requirements, and ignored by git.
PO_FILES := $(wildcard locale/*/LC_MESSAGES/django.po)
MO_FILES := $(PO_FILES:.po=.mo)
MAKEMESSAGES_IGNORE := --ignore=.venv --ignore=var --ignore=bench --ignore=node_modules

.PHONY: run test stop lint venv backup restore messages translations assurance-readme

venv: $(STAMP) translations

$(STAMP): requirements.txt
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -r requirements.txt
	@touch $(STAMP)

translations: $(MO_FILES)

# compilemessages needs GNU gettext's msgfmt; without it, polib (a requirement) compiles.
# django-admin rather than manage.py: compiling needs no settings, hence no database.
locale/%/LC_MESSAGES/django.mo: locale/%/LC_MESSAGES/django.po $(STAMP)
	@if command -v msgfmt >/dev/null; then \
	  env -u DJANGO_SETTINGS_MODULE $(BIN)/django-admin compilemessages $(MAKEMESSAGES_IGNORE) --locale $*; \
	else \
	  echo "msgfmt not found: compiling $< with polib"; \
	  $(BIN)/python -c 'import polib, sys; polib.pofile(sys.argv[1]).save_as_mofile(sys.argv[2])' $< $@; \
	fi
	@touch $@

## make messages: refresh the zh_Hans catalogue from the code, then check nothing in it is
## untranslated or fuzzy (needs GNU gettext). Translate what it lists, then run it again.
messages: $(STAMP)
	$(BIN)/python manage.py makemessages --locale zh_Hans --no-obsolete $(MAKEMESSAGES_IGNORE)
	$(BIN)/python -m pytest -q tests/test_i18n.py -k "catalogue or marked or placeholders or codes"

## make run: install, migrate, load demo data, serve on http://127.0.0.1:8000 with a
## background-job worker beside the web server (Ctrl-C stops both)
run: venv
	$(BIN)/python manage.py migrate --noinput
	$(BIN)/python manage.py seed_demo
	@echo "Serving on http://127.0.0.1:8000 with a job worker — Ctrl-C stops both; 'make stop' stops the database."
	@$(BIN)/python manage.py procrastinate worker --name make-run & worker=$$!; \
	trap 'kill -TERM $$worker 2>/dev/null; wait $$worker 2>/dev/null' EXIT INT TERM; \
	$(BIN)/python manage.py runserver 127.0.0.1:8000

## make test: the full test suite on its own embedded PostgreSQL (or on DATABASE_URL)
test: venv
	@if [ -z "$(CHROMIUM)" ]; then \
	  echo "!!! ------------------------------------------------------------------ !!!"; \
	  echo "!!! No Chromium on this machine: the BROWSER TESTS WILL BE SKIPPED.     !!!"; \
	  echo "!!! Install Debian's 'chromium' package to run them.                    !!!"; \
	  echo "!!! ------------------------------------------------------------------ !!!"; \
	fi
	@status=0; \
	EMBEDDED_PGDATA=$(TEST_PGDATA) $(BIN)/python -m pytest $(PYTEST_ARGS) || status=$$?; \
	$(BIN)/python -m trialsite.embedded_db stop $(TEST_PGDATA) >/dev/null; \
	exit $$status

## make assurance-readme: copy the figures of the last full, passing `make test` of each
## database leg (var/assurance-embedded.txt, var/assurance-external.txt) into README.md's
## Assurance section (FORCE=1 takes any run)
assurance-readme: venv
	$(BIN)/python -m trialsite.assurance \
	  $(or $(wildcard var/assurance-embedded.txt var/assurance-external.txt),var/assurance.txt) \
	  README.md $(if $(FORCE),--force)

## make stop: stop the embedded PostgreSQL servers of this checkout
stop: venv
	$(BIN)/python -m trialsite.embedded_db stop var/pgdata
	$(BIN)/python -m trialsite.embedded_db stop $(TEST_PGDATA)

## make lint: the static gates CI runs after the tests (ruff; the layers of the apps)
lint: venv
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/lint-imports

## make backup: pg_dump of the configured database into var/backups/
backup: venv
	$(BIN)/python manage.py backup_db

## make restore FILE=var/backups/....dump [DATABASE=name] [REPLACE=1]
restore: venv
	@test -n "$(FILE)" || { echo "usage: make restore FILE=path/to/backup.dump [DATABASE=name] [REPLACE=1]"; exit 2; }
	$(BIN)/python manage.py restore_db "$(FILE)" $(if $(DATABASE),--database "$(DATABASE)") $(if $(REPLACE),--replace)

## make bench [BENCH_N="200 2000"] [BENCH_ARGS="--rounds 5"]: generate the load databases
## (trialsite_bench_<N>, kept for the next run), measure pages and exports against their
## floors, and print the table (README "Performance"). Takes minutes; N=20000 ~30 min.
BENCH_N ?= 2000 20000
BENCH_PGDATA := var/pg-bench
.PHONY: bench
bench: venv
	@status=0; \
	EMBEDDED_PGDATA=$(BENCH_PGDATA) $(BIN)/python -m bench.run --n $(BENCH_N) $(BENCH_ARGS) || status=$$?; \
	$(BIN)/python -m trialsite.embedded_db stop $(BENCH_PGDATA) >/dev/null; \
	exit $$status
