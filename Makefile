# sleapish developer commands. Every target installs what it needs into .venv/.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed-dev

.PHONY: venv demo test test-fast lint bench bench-reference bench-vs-sleap docs clean

$(STAMP): setup.cfg setup.py
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade "pip>=23"
	$(PY) -m pip install --quiet -e ".[dev,export,cluster,openvino]"
	touch $(STAMP)

venv: $(STAMP)

## The main job on the embedded default (synthetic dataset; no downloads).
demo: $(STAMP)
	$(PY) -m sleapish.demo --out demo_output

## The test suite (tests reading ../shared/data skip when it is absent, fail under CI=true).
test: $(STAMP)
	$(PY) -m pytest tests --durations=15 $(PYTEST_ARGS)

## The suite without the `slow` tests (trainings, notebooks, docs build, distributed): ~2 min.
test-fast: $(STAMP)
	$(PY) -m pytest tests -m "not slow" --durations=10 $(PYTEST_ARGS)

## Lint (ruff.toml); .ci/run runs it before the tests.
lint: $(STAMP)
	$(PY) -m ruff check .

## Speed/memory benchmarks; writes benchmarks/reports/report.md.
bench: $(STAMP)
	$(PY) benchmarks/run_all.py

## SLEAP 1.4.1's two reference trainings on ../shared/data clip.slp (~20 min, not in
## `bench`); writes benchmarks/reports/training_reference.md. Options: BENCH_ARGS="--run bottomup".
bench-reference: $(STAMP)
	$(PY) benchmarks/bench_training_reference.py $(BENCH_ARGS)

## sleapish against SLEAP 1.4.1 itself, same jobs side by side (SLEAP built in a scratch
## venv outside the repo, ../sleap141_venv, on first use; about 90 min with 3 pairs);
## writes benchmarks/reports/vs_sleap.md. Options: BENCH_ARGS="--pairs 1 --jobs single".
bench-vs-sleap: $(STAMP)
	$(PY) benchmarks/bench_vs_sleap.py $(BENCH_ARGS)

## The documentation site (mkdocs-material + mkdocstrings API reference) in site/.
docs: $(STAMP)
	NO_MKDOCS_2_WARNING=1 $(PY) -m mkdocs build --strict --site-dir site

clean:
	rm -rf $(VENV) build dist *.egg-info demo_output site
