# Two entry points for a fresh Debian 12 machine: `make demo` and `make test`.
# Both install what is missing (Debian packages, then .venv) and nothing else.

PYTHON ?= python3
VENV   := .venv
PY     := $(VENV)/bin/python
# gcc builds the runtime for host tests; chromium renders the html report in a test; clang and its
# runtime (libFuzzer, sanitizers) fuzz the firmware's protocol code in a test; ser2net serves serial
# ports for labgrid's exporter in tests/targets/labgrid.
DEB_PACKAGES := gcc-arm-none-eabi libnewlib-arm-none-eabi qemu-system-arm cmake ninja-build espeak-ng gcc chromium \
                clang libclang-rt-14-dev ser2net
SUDO   := $(shell [ "$$(id -u)" = 0 ] || echo sudo)
BOARD  ?= nucleo-f446re
ZOO    ?= models/zoo
JOBS   ?= $(shell nproc)
RUN_ID := $(shell date -u +%Y%m%d-%H%M%S)
DEMO_DIR = reports/demo-$(BOARD)-$(RUN_ID)

.PHONY: setup deb venv demo test clean help

help:
	@echo "make demo   train (or reuse) the default zoo, evaluate it on the emulated $(BOARD), print the report path"
	@echo "make test   run the whole test suite through tox"
	@echo "make setup  only install what is missing (Debian packages, .venv)"

setup: deb venv

# Ask dpkg each time (it is quick) so a machine that lost a package gets it back.
deb:
	@missing=""; for p in $(DEB_PACKAGES); do \
	  dpkg-query -W -f='$${Status}\n' $$p 2>/dev/null | grep -q "install ok installed" || missing="$$missing $$p"; \
	done; \
	if [ -n "$$missing" ]; then \
	  echo "Installing Debian packages:$$missing"; \
	  $(SUDO) apt-get update -qq && \
	  $(SUDO) env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $$missing; \
	fi

venv: $(VENV)/.installed

$(VENV)/.installed: pyproject.toml
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	# torch is pinned in pyproject.toml to the CPU build; an unpinned one would pull CUDA.
	$(PY) -m pip install -q -e '.[test,lab]' tox
	@touch $@

# The default zoo ships trained (harness/zoo_default); this copies it, and trains only what is stale.
demo: setup
	$(PY) -m harness zoo --out $(ZOO)
	# One emulated board per core (pytest-xdist workers); the workers' shares merge into one run folder.
	$(PY) -m pytest scenarios/ --board=$(BOARD) --models $(ZOO) --report-dir $(DEMO_DIR) -n $(JOBS) -p no:cacheprovider -q
	@echo "Report: $(CURDIR)/$(DEMO_DIR)/index.html"

test: setup
	$(VENV)/bin/tox run

clean:
	rm -rf build .tox
