# kambin: the two commands are `make demo` and `make test`; each does all set-up first.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
# Debian packages: offscreen OpenGL for VTK (EGL and OSMesa), fonts for reports.
DEBS := libegl1 libgl1 libosmesa6 libglu1-mesa libxrender1 libxt6 fonts-dejavu-core chromium

.PHONY: setup demo test test-quick bench lint clean system-packages

setup: system-packages $(STAMP)

system-packages:
	@missing=""; for p in $(DEBS); do dpkg -s $$p >/dev/null 2>&1 || missing="$$missing $$p"; done; \
	if [ -n "$$missing" ]; then \
	  if [ "$$(id -u)" = "0" ]; then \
	    echo "installing Debian packages:$$missing"; \
	    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $$missing >/dev/null; \
	  else \
	    echo "missing Debian packages; run: sudo apt-get install -y$$missing"; exit 1; \
	  fi; \
	fi

$(STAMP): pyproject.toml
	test -d $(VENV) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -e '.[dev]'
	touch $(STAMP)

demo: setup
	$(VENV)/bin/kambin demo -o demo-output

# The suite on both cores (pytest-xdist; whole files per worker, so a module's fixtures are built
# once), then the tests that assert on wall-clock behaviour alone, so they do not share the CPU.
TEST_WORKERS ?= 2
test: setup
	$(PY) -m pytest -q -n $(TEST_WORKERS) --dist loadfile -m "not realtime"
	$(PY) -m pytest -q -m realtime

# While working: the same, without the tests marked slow (phantoms at 1 mm, whole segmentations,
# the planning cohort, the demo). `make test` runs every one of them.
test-quick: setup
	$(PY) -m pytest -q -n $(TEST_WORKERS) --dist loadfile -m "not realtime and not slow"

bench: setup
	$(PY) bench/run.py

lint: setup
	$(VENV)/bin/ruff check src tests bench
	$(VENV)/bin/lint-imports

clean:
	rm -rf $(VENV) demo-output .pytest_cache build *.egg-info src/*.egg-info
