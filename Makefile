# The course's two commands (see README.md):
#   make grade   set up, generate the default data if missing, run the main job
#   make test    set up, generate the default data if missing, run the whole test suite
#                (pytest-xdist: one worker per CPU core, each test file on one worker)
# Also: make lint (ruff, configured in pyproject.toml; CI runs it after the tests),
# make lessons (regenerate lessons/ from solutions/), make bench-faces,
# make bench-captions, make bench-grader (wall-clock benchmarks on this CPU; minutes).
# Set-up makes a local virtual environment in .venv from pyproject.toml, once
# (again only when pyproject.toml changes), and installs bubblewrap -- the
# grader's sandbox for student code -- with apt where it is missing and this
# machine can (root on Debian/Ubuntu); elsewhere it says how, and the grader
# announces the weaker isolation it falls back to (see README.md, "Grading").

PYTHON ?= python3
VENV   := .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed

.PHONY: setup sandbox grade test lint data status samples lessons bench-faces bench-captions bench-grader clean

setup: $(STAMP) sandbox

sandbox:
	@command -v bwrap >/dev/null 2>&1 || { \
	  if command -v apt-get >/dev/null 2>&1 && [ "$$(id -u)" = 0 ]; then \
	    echo "installing bubblewrap (the grader's sandbox) with apt-get"; \
	    { apt-get install -y -qq bubblewrap || { apt-get update -qq && apt-get install -y -qq bubblewrap; }; } \
	      >/dev/null 2>&1 || echo "could not install bubblewrap: student code will run with weaker, announced isolation"; \
	  else \
	    echo "bubblewrap (bwrap) is not installed: the grader will announce weaker isolation." \
	         "Install it with your package manager (Debian/Ubuntu: sudo apt-get install bubblewrap; Linux only)"; \
	  fi; }

$(STAMP): pyproject.toml
	@echo "setting up $(VENV) from pyproject.toml (a few minutes the first time)"
	$(PYTHON) -m venv $(VENV)
	@$(PY) -m pip install --quiet -e . > $(VENV)/pip.log 2>&1 || { cat $(VENV)/pip.log; exit 1; }
	@touch $@

grade: setup
	$(PY) -m cvdata ensure
	$(PY) -m autograder scorecard

test: data
	$(PY) -m pytest -n auto --dist loadfile --no-loadscope-reorder --durations=15

lint: setup
	$(PY) -m ruff check .

data: setup
	$(PY) -m cvdata ensure

status: setup
	$(PY) -m cvdata status

samples: setup
	$(PY) -m cvdata samples

lessons: setup
	$(PY) -m autograder lessons

bench-faces: data
	$(PY) benchmarks/facial_keypoints.py

bench-captions: data
	$(PY) benchmarks/image_captioning.py

bench-grader: data
	$(PY) benchmarks/grader.py
	$(PY) benchmarks/grader_reliability.py

clean:
	rm -rf datasets/generated .pytest_cache
