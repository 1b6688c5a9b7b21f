# The two commands a newcomer needs: `make demo` and `make test`. Both create .venv on first use.
VENV ?= .venv
PY := $(VENV)/bin/python
EXTRAS ?= dev,train
DEMO_ARGS ?=

$(VENV)/.installed: pyproject.toml
	python3 -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -e '.[$(EXTRAS)]'
	@# Ultralytics pulls the GUI build of OpenCV beside the headless one; both own cv2/: keep one.
	$(PY) -m pip uninstall -q -y opencv-python
	$(PY) -m pip install -q --force-reinstall --no-deps opencv-python-headless
	touch $@

.PHONY: install test demo
install: $(VENV)/.installed

test: $(VENV)/.installed
	$(PY) -m pytest

demo: $(VENV)/.installed
	$(VENV)/bin/fishwatch demo $(DEMO_ARGS)
