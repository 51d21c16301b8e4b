# Two commands for a new user: `make demo` and `make test`. Each creates ./.venv on first use.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed-stamp
OPEN_CLIP := open-clip-torch==3.3.0

.PHONY: demo test clean-venv

$(STAMP): pyproject.toml Makefile
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	# torch first, from the CPU wheel on this machine kind's disk, so no resolver pulls a CUDA build.
	$(PY) -m pip install --quiet torch==2.13.0
	$(PY) -m pip install --quiet -e '.[all]'
	# Only for tests: open_clip's reference tokenizer and merges. Its dependencies (torchvision)
	# would replace our torch, so it goes in without them; the tests load its tokenizer file alone.
	$(PY) -m pip install --quiet --no-deps $(OPEN_CLIP)
	$(PY) -c "import torch; assert torch.__version__.startswith('2.13.0'), torch.__version__"
	touch $(STAMP)

demo: $(STAMP)
	$(VENV)/bin/pocketclip demo

test: $(STAMP)
	# The Android core's JUnit tests (tests/apps) need a JVM toolchain: kotlinc (npm), JUnit 5, sqlite-jdbc, Gson (apt).
	android_demo/core/jvm-test.sh --install
	# The privacy test watches an index run's system calls with strace (Debian).
	command -v strace >/dev/null || (apt-get update -qq && apt-get install -y -qq strace >/dev/null)
	# tests/web drive `pocketclip serve` in Debian's headless Chromium through its chromedriver.
	command -v chromedriver >/dev/null || (apt-get update -qq && apt-get install -y -qq chromium chromium-driver >/dev/null)
	$(PY) -m pytest -q

clean-venv:
	rm -rf $(VENV)
