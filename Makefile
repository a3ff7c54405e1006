# The two commands of the README: `make demo` and `make test`. Both install what is missing
# (Debian packages when run as root, the pinned Python packages into .venv) and are idempotent.
SHELL := /bin/bash
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
# libzbar0: pyzbar; libpulse0: QtMultimedia (sounds); GL/EGL/xkb/fontconfig/dbus/glib: Qt offscreen;
# libxcb-*: Qt on an X11 desktop (make demo); chromium: the browser tests (never a
# downloaded browser); wrk: the flash-sale benchmark's load generator; python3-venv: venv;
# binutils: objdump, which the door-app package build reads its libraries' needs with.
DEBIAN_PACKAGES := libzbar0 libpulse0 libgl1 libegl1 libxkbcommon0 libxkbcommon-x11-0 \
	libfontconfig1 libdbus-1-3 libglib2.0-0 \
	libxcb-cursor0 libxcb-icccm4 libxcb-keysyms1 chromium wrk binutils

.PHONY: test demo deps system-deps lint typecheck pytest bench lock clean package

test: deps lint typecheck pytest

demo: deps
	@$(BIN)/python -m scripts.demo

deps: system-deps $(STAMP)

system-deps:
	@PYTHON="$(PYTHON)" bash scripts/system-deps.sh $(DEBIAN_PACKAGES)

$(STAMP): pyproject.toml constraints.txt
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -c constraints.txt -e '.[server,scanner,dev]'
	@touch $(STAMP)

lint: deps
	$(BIN)/ruff check .

typecheck: deps
	$(BIN)/mypy

# Two workers, one per core: the suite has grown past ten minutes run serially (the door-app
# package build alone takes minutes). --dist loadscope hands each worker the next test module
# when it is free, in tests/conftest.py's order (slowest first: --no-loadscope-reorder), so one
# worker builds the package while the other works, and no module's fixtures are set up twice.
# (Not loadgroup: with pytest 9.2 xdist 3.8 no longer keeps an xdist_group on one worker.)
# PYTEST_ARGS="-n 0" runs it in one process.
PYTEST_ARGS ?= -n 2 --dist loadscope --no-loadscope-reorder --durations=30
pytest: deps
	QT_QPA_PLATFORM=offscreen $(BIN)/pytest $(PYTEST_ARGS)

bench: deps
	@for b in bench/*.py; do echo "== $$b"; $(BIN)/python $$b || exit 1; done

# The door app as a .deb and a tarball in dist/, with their checksums (docs/packaging.md).
# binutils: objdump reads the libraries the bundle needs, for the .deb's Depends.
package: deps
	$(BIN)/python -m pip install --quiet -c constraints.txt -e '.[scanner,package]'
	$(BIN)/python -m scripts.package

# Re-pin after changing dependencies in pyproject.toml.
lock:
	$(BIN)/python -m pip freeze --exclude-editable | grep -v '^stepperslife-door' > constraints.txt

clean:
	rm -rf $(VENV) .mypy_cache .pytest_cache .ruff_cache
