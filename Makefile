# pyserializer: set up, test, demo, benchmark, docs.
#
# All targets share one virtualenv (VENV) and each installs only what it needs,
# with pyserializer itself installed editable from this checkout:
#
#   make demo          the demo (demo/run.py); installs Django and the demo extra only
#   make test          run the suite on SQLite, then PostgreSQL and MariaDB when reachable
#                      (installs EXTRAS: the test tools, zstandard and Wagtail)
#   make test-sqlite   run the suite on SQLite only
#   make test-mariadb  run the suite on MariaDB only
#   make mysqlclient   install mysqlclient (Django's MariaDB/MySQL driver) into the virtualenv
#   make test-lino     a real Lino site (tests/test_lino.py) on SQLite and PostgreSQL, in its
#                      own virtualenv (Python 3.12, Django 6) kept under ~/.cache/pyserializer
#   make test-wheel    build a wheel, install it into a new virtualenv, dump and restore with it
#   make bench         the benchmark (EXTRAS plus the bench extra)
#   make docs          the documentation (the docs extra)
#   make typecheck     mypy on the package (the typecheck extra; settings in setup.cfg)
#
# Variables (override on the command line):
#   PYTHON   interpreter that creates the virtualenv
#   VENV     where the virtualenv lives
#   DJANGO   pip requirement for Django, installed on top of setup.cfg's
#   EXTRAS   setup.cfg extras the test targets install (wagtail needs Django 5.2 or newer)
#   PYTEST_ARGS  extra arguments for pytest, e.g. PYTEST_ARGS="-x -k roundtrip"
#   BENCH_ARGS   options for benchmarks/bench.py, e.g. BENCH_ARGS="--quick"
#   WAGTAIL_BENCH_ARGS  options for benchmarks/wagtail_bench.py (make bench-wagtail),
#                e.g. WAGTAIL_BENCH_ARGS="--database-url mysql://root@127.0.0.1:3306/pyser_bench_wagtail"

PYTHON ?= python3
VENV ?= .venv
DJANGO ?= Django>=5.2,<5.3
EXTRAS ?= test,zstd,wagtail
PYTEST_ARGS ?=
BENCH_ARGS ?=

VPY := $(VENV)/bin/python
# One install stamp per purpose, $(VENV)/.installed-<purpose>, and the extras
# each installs. The Django requirement and EXTRAS are part of what every stamp
# records: changing DJANGO or EXTRAS reinstalls.
EXTRAS_demo := demo
EXTRAS_test := $(EXTRAS)
EXTRAS_bench := $(EXTRAS),bench
EXTRAS_docs := docs
EXTRAS_typecheck := typecheck
DJANGO_SPEC := $(VENV)/.django-spec

SQLITE_URL ?= sqlite:///$(abspath $(VENV))/test.sqlite3
POSTGRES_URL ?= postgres://postgres@127.0.0.1:5432/pyserializer
MARIADB_URL ?= mysql://root@127.0.0.1:3306/pyserializer
export SQLITE_URL POSTGRES_URL MARIADB_URL

.PHONY: venv test test-sqlite test-mariadb test-lino test-wheel demo bench bench-wagtail bench-mysqlclient mysqlclient docs typecheck clean FORCE

# The virtualenv the tests need.
venv: $(VENV)/.installed-test

$(VPY):
	$(PYTHON) -m venv $(VENV)
	$(VPY) -m pip install --quiet --upgrade pip setuptools wheel

# Rewritten only when its content changes, so that it can be a prerequisite.
$(DJANGO_SPEC): FORCE | $(VPY)
	@echo '$(DJANGO) [$(EXTRAS)]' | cmp -s - $@ || echo '$(DJANGO) [$(EXTRAS)]' > $@

# Until 0.1.0 the distribution was called pyserializer, which is another
# project's name on PyPI: a virtualenv that still has it installed would hold
# two installs of one package. $(call drop-old-dist,PYTHON) uninstalls it, and
# removes the metadata its editable install left in the checkout.
drop-old-dist = rm -rf pyserializer.egg-info; \
	if $(1) -m pip show --quiet pyserializer >/dev/null 2>&1; then \
	  $(1) -m pip uninstall --quiet --yes pyserializer; fi

$(VENV)/.installed-%: setup.cfg setup.py $(DJANGO_SPEC) | $(VPY)
	@$(call drop-old-dist,$(VPY))
	$(VPY) -m pip install --quiet -e ".[$(EXTRAS_$*)]" "$(DJANGO)"
	$(VPY) -c "import django; print('Django', django.get_version(), 'in $(VENV)')"
	touch $@

# One pytest run per reachable backend; every backend runs even when one fails.
test: venv
	@backends="$$($(VPY) tests/backends.py)" || exit 1; \
	failed=""; \
	for backend in $$backends; do \
	  name=$${backend%%=*}; url=$${backend#*=}; \
	  echo "=== pytest on $$name ($$url)"; \
	  DATABASE_URL="$$url" $(VPY) -m pytest $(PYTEST_ARGS) || failed="$$failed $$name"; \
	done; \
	if [ -n "$$failed" ]; then echo "=== FAILED on:$$failed"; exit 1; fi; \
	echo "=== passed on: $$(echo $$backends | sed 's/=[^ ]*//g')"

test-sqlite: venv
	DATABASE_URL="$(SQLITE_URL)" $(VPY) -m pytest $(PYTEST_ARGS)

test-mariadb: venv
	DATABASE_URL="$(MARIADB_URL)" $(VPY) -m pytest $(PYTEST_ARGS)

# The Lino site: its virtualenv (tests/lino-requirements.txt, pinned) and its
# demo database live outside the repository, under a directory named after the
# hash of the requirements (tests/lino_site.py cache-dir): a new clone on the
# same machine reuses both. pyserializer is installed from this checkout.
LINO_PYTHON ?= $(firstword $(wildcard /root/.pyenv/versions/3.12.*/bin/python) $(shell command -v python3.12))
LINO_CACHE := $(shell $(PYTHON) tests/lino_site.py cache-dir)
LINO_VPY := $(LINO_CACHE)/venv/bin/python

# No prerequisite: the directory's name is the requirements' hash, and a new
# clone's files are newer than the stamp.
$(LINO_CACHE)/venv/.installed:
	rm -rf $(LINO_CACHE)/venv
	$(LINO_PYTHON) -m venv $(LINO_CACHE)/venv
	$(LINO_VPY) -m pip install --quiet -r tests/lino-requirements.txt
	touch $@

# SQLite, then PostgreSQL when reachable (required with PYSERIALIZER_REQUIRE_ALL_BACKENDS=1).
test-lino: $(LINO_CACHE)/venv/.installed
	@$(call drop-old-dist,$(LINO_VPY))
	$(LINO_VPY) -m pip install --quiet --no-deps -e .
	@backends="$$($(LINO_VPY) tests/backends.py)" || exit 1; \
	failed=""; \
	for backend in $$backends; do \
	  name=$${backend%%=*}; url=$${backend#*=}; \
	  case $$name in sqlite|postgresql) ;; *) continue ;; esac; \
	  echo "=== Lino site on $$name ($$url)"; \
	  DATABASE_URL="$$url" $(LINO_VPY) -m pytest tests/test_lino.py -s -rs $(PYTEST_ARGS) || failed="$$failed $$name"; \
	done; \
	if [ -n "$$failed" ]; then echo "=== Lino site FAILED on:$$failed"; exit 1; fi

demo: $(VENV)/.installed-demo
	$(VPY) demo/run.py

# Once per CI run, not per backend: the wheel's own virtualenv uses SQLite.
test-wheel: venv
	PYSERIALIZER_TEST_WHEEL=1 DATABASE_URL="$(SQLITE_URL)" $(VPY) -m pytest tests/test_wheel.py -rs $(PYTEST_ARGS)

# mysqlclient is Django's recommended MariaDB/MySQL driver; it compiles against
# the MariaDB client headers, which come from Debian's packages (apt-get needs
# root, or sudo without a password). Where it is not installed, PyMySQL stands in.
MYSQLCLIENT ?= mysqlclient>=2.2.1
MYSQLCLIENT_DEBS := libmariadb-dev pkg-config build-essential
SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo -n)

mysqlclient: venv
	@if $(VPY) -c "import MySQLdb._mysql" 2>/dev/null; then \
	  echo "mysqlclient is installed in $(VENV)"; exit 0; \
	fi; \
	missing=""; \
	for deb in $(MYSQLCLIENT_DEBS); do \
	  dpkg -s $$deb >/dev/null 2>&1 || missing="$$missing $$deb"; \
	done; \
	if [ -n "$$missing" ]; then \
	  command -v apt-get >/dev/null || { echo "mysqlclient: no apt-get to install$$missing"; exit 1; }; \
	  echo "mysqlclient: installing Debian's$$missing"; \
	  export DEBIAN_FRONTEND=noninteractive; \
	  $(SUDO) apt-get install -y -qq --no-install-recommends $$missing || \
	    { $(SUDO) apt-get update -qq && $(SUDO) apt-get install -y -qq --no-install-recommends $$missing; } || exit 1; \
	fi; \
	$(VPY) -m pip install --quiet "$(MYSQLCLIENT)" && \
	$(VPY) -c "import MySQLdb; print('mysqlclient %d.%d.%d' % MySQLdb.version_info[:3], 'in $(VENV)')"

# mysqlclient where it installs; without it the benchmark runs on PyMySQL and
# its report says which driver it used.
# The generated data against dumpdata/loaddata, the driver and the database's
# own tools, then a Wagtail site against stock loaddata (bench-wagtail alone).
bench: bench-mysqlclient
	$(VPY) benchmarks/bench.py $(BENCH_ARGS)
	$(VPY) benchmarks/wagtail_bench.py $(WAGTAIL_BENCH_ARGS)

bench-wagtail: bench-mysqlclient
	$(VPY) benchmarks/wagtail_bench.py $(WAGTAIL_BENCH_ARGS)

bench-mysqlclient: $(VENV)/.installed-bench
	@$(MAKE) --no-print-directory mysqlclient || \
	  echo "bench: mysqlclient could not be installed (see above); MariaDB/MySQL steps use PyMySQL"

docs: $(VENV)/.installed-docs
	$(VPY) -m sphinx -W docs docs/_build/html

typecheck: $(VENV)/.installed-typecheck
	$(VPY) -m mypy pyserializer

clean:
	rm -rf .venv .venv-* build dist docs/_build *.egg-info .pytest_cache .hypothesis
	find . -name __pycache__ -type d -prune -exec rm -rf {} +
