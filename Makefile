# Two entry points, each doing all set-up on a fresh machine with Python 3.11, make and npm:
#   make book   - create .venv with the pinned packages, install MathJax from npm, run the
#                 experiments, build the HTML book (prints the path of index.html)
#   make test   - the same set-up plus Chromium, then build the book, then unit tests, nbval
#                 over every committed notebook (compared with the book build's executions) and
#                 the browser test of the built pages
#   make faults - the fault-injection tests that start real commands, kernels, pools or a Dask
#                 cluster (.ci/run runs it after make test)
PYTHON ?= python3
NPM    ?= npm
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

# MathJax 3 (npm package "mathjax", version pinned in package.json/package-lock.json) is
# shipped with the book so that equations render offline. Only what tex-mml-chtml.js loads
# is copied: the component, its CHTML fonts, the TeX extensions it may autoload, the menu
# and the accessibility parts the menu can switch on. _config.yml points Sphinx's
# html_static_path at $(STATIC) and mathjax_path at mathjax/tex-mml-chtml.js.
NODE_STAMP    := node_modules/.installed
MATHJAX_SRC   := node_modules/mathjax
STATIC        := _build/static
MATHJAX       := $(STATIC)/mathjax/tex-mml-chtml.js
MATHJAX_PARTS := tex-mml-chtml.js output/chtml/fonts/woff-v2 input/tex/extensions ui a11y sre

# One BLAS/OpenMP thread: printed numbers repeat exactly. The library uses
# both cores through its own worker processes instead.
export OMP_NUM_THREADS := 1
export OPENBLAS_NUM_THREADS := 1
export MKL_NUM_THREADS := 1
export PYDEVD_DISABLE_FILE_VALIDATION := 1

# The same bits on every x86-64 machine with AVX2. Training is chaotic in round-off, so the
# SIMD code path of numpy's tanh (AVX-512 on one machine, AVX2 on another) changes the second
# digit of a trained network's objective. numpy is kept at its AVX2 (X86_V3) paths and
# OpenBLAS at its Haswell kernels unless the machine already sets a core type (some do, to
# avoid OpenBLAS faults; that setting is kept). resnet_ode.training.runs.numerics() records both in
# the run cache key.
export NPY_DISABLE_CPU_FEATURES := X86_V4 AVX512_ICL AVX512_SPR
OPENBLAS_CORETYPE ?= Haswell
export OPENBLAS_CORETYPE

# Every cache lookup of a build is noted in a read log (resnet_ode.training.cache.note_read): what the
# book read, and whether it came from the local cache, the published entries (data/published) or was
# computed. One log for the training, one per notebook (rewritten when the notebook is executed again,
# kept when it is not), so together they say what the book as it stands reads. `make publish`
# publishes from these logs; `resnet-ode publish --check` (in .ci/run) fails on an entry the book
# computed or read that is not published.
READS := $(CURDIR)/_build/reads

.PHONY: book test unit faults screenshots nbval train venv assets chromium sweep notebooks html clean publish reproduce check-data

venv: $(STAMP)

$(STAMP): requirements.txt pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade "pip>=24"
	# pip compiles every installed module to bytecode one file at a time (23,000 files, about a
	# minute here); compileall does the same on every core.
	$(BIN)/python -m pip install --quiet --no-compile -r requirements.txt
	$(BIN)/python -m compileall -q -j 0 $(VENV)/lib
	$(BIN)/python -m pip install --quiet --no-deps --no-build-isolation -e .
	# Kernels started by papermill/nbval: no warning about the local TCP transport on every start.
	mkdir -p $(VENV)/etc/ipython
	echo 'c.IPKernelApp.log_level = "ERROR"' > $(VENV)/etc/ipython/ipython_kernel_config.py
	touch $@

assets: $(MATHJAX)

$(NODE_STAMP): package.json package-lock.json
	$(NPM) ci --no-audit --no-fund --ignore-scripts --loglevel=error
	touch $@

$(MATHJAX): $(NODE_STAMP)
	rm -rf $(STATIC)/mathjax
	mkdir -p $(STATIC)/mathjax
	cp $(MATHJAX_SRC)/LICENSE $(STATIC)/mathjax/
	for part in $(MATHJAX_PARTS); do \
		mkdir -p $(STATIC)/mathjax/$$(dirname $$part) && \
		cp -R $(MATHJAX_SRC)/es5/$$part $(STATIC)/mathjax/$$part || exit 1; \
	done

# Debian's chromium and chromium-driver for tests/test_browser.py (skipped, saying why,
# where they cannot be installed).
chromium:
	bash tools/install-chromium.sh

# All training first, then the run pages re-executed in place (what `make notebooks` starts with).
sweep: $(STAMP)
	$(BIN)/resnet-ode train all
	$(BIN)/resnet-ode sweep all

# Re-execute every committed notebook after changing the package, the way `resnet-ode rerun
# <chapter> --defaults` does (so that a rerun and a rerun --defaults restore them byte for byte):
# the run pages, then each chapter with its default parameters, then the pages without runs
# (Chapter 4 last: it reads the numbers the Chapter 3 pages wrote).
notebooks: $(STAMP)
	$(BIN)/resnet-ode train all
	$(BIN)/resnet-ode sweep all
	for chapter in 3.1 3.2 3.3 3.4 6; do $(BIN)/resnet-ode rerun $$chapter --defaults || exit 1; done
	$(BIN)/resnet-ode execute book/chapter2/background.ipynb book/chapter3/peaks-data.ipynb \
		book/templates/peaks-run.ipynb book/chapter4/conclusions.ipynb

# Jobs at a time: every core this process may use (nproc follows the CPU affinity; it would also
# follow the OMP_NUM_THREADS=1 exported above, hence env -u); resnet-ode's --jobs defaults to the
# same and gives each job cores // jobs worker processes.
JOBS ?= $(shell env -u OMP_NUM_THREADS -u OMP_THREAD_LIMIT nproc 2>/dev/null || echo 2)

# The notebooks whose stamp changed (their code cells, the package code, the environment, the numbers
# they read) are executed, JOBS at a time, into Jupyter Book's execution cache, where their executed
# copies are kept; the others are not executed again. The build then renders the cache
# (_config.yml: execute_notebooks: cache). `resnet-ode execute-book --force` executes every notebook.
# `resnet-ode html` then runs `jupyter-book build --all -W -n --keep-going .`, unless nothing the
# build reads changed since its last build (resnet_ode.book.htmlbuild; HTML_FLAGS=--force builds anyway).
html: $(STAMP) $(MATHJAX)
	mkdir -p $(READS)
	RESNET_ODE_READ_LOGS=$(READS)/notebooks $(BIN)/resnet-ode execute-book --jobs $(JOBS) $(EXECUTE_FLAGS)
	$(BIN)/resnet-ode html $(HTML_FLAGS)

# All training first (every run of every chapter, JOBS at a time, longest first), then every notebook
# that changed since the last build is executed once (the run pages read their runs from the cache).
book: $(STAMP) $(MATHJAX)
	@start=$$(date +%s); \
	$(MAKE) --no-print-directory train && $(MAKE) --no-print-directory html && \
	$(BIN)/resnet-ode publish --status && \
	echo "Built in $$(( $$(date +%s) - start )) s. Open $(CURDIR)/_build/html/index.html"

train: $(STAMP)
	mkdir -p $(READS) && rm -f $(READS)/train.log
	RESNET_ODE_READ_LOG=$(READS)/train.log $(BIN)/resnet-ode train all --jobs $(JOBS)

# For contributors: after a change that alters results (training code, a chapter's parameters), train
# what is not published, execute every notebook (so that every read is logged), then make
# data/published hold exactly the entries the book read, with their manifest. Commit data/published.
publish: $(STAMP) $(MATHJAX)
	rm -rf $(READS) && mkdir -p $(READS)
	$(MAKE) --no-print-directory train
	$(MAKE) --no-print-directory html EXECUTE_FLAGS=--force
	$(BIN)/resnet-ode publish

# Recompute every published entry from nothing, in local processes (or on a Dask cluster with
# RESNET_ODE_SCHEDULER), and compare it bit for bit with the published one.
reproduce: $(STAMP)
	$(BIN)/resnet-ode verify --all --jobs $(JOBS)

# What .ci/run checks after `make test`: the book read only published, unchanged entries (a change of
# the training code that was not published fails here), and a sample of them drawn from the commit
# (a deep run, a shallow run, a surface, a Hessian, an analysis) recomputed from nothing gives the
# same bits.
check-data: $(STAMP)
	$(BIN)/resnet-ode publish --check
	$(BIN)/resnet-ode verify --sample --seed "$$(git rev-parse HEAD)" --jobs $(JOBS)

# Tests are dealt out to JOBS workers one file at a time: a notebook's cells run in order in one
# kernel, a file's module fixtures are made once and its tests run in order.
PYTEST := $(BIN)/python -m pytest -p no:cacheprovider -n $(JOBS) --dist loadfile

# The book first (the browser test checks the built pages; it executes only what changed), then the
# tests of the book and the package: unit and derivative tests, the slow end-to-end tests, nbval and
# the browser. nbval compares every committed notebook with its execution by the book build
# (--nbval-executed, conftest.py: nbval's items, tags and comparison; stderr and cells tagged
# volatile not compared), so no notebook is executed twice; a notebook whose execution is older
# than its code, the package or the environment fails. `make nbval` executes them all again instead.
# The tests that start real commands, kernels, pools or a Dask cluster are `make faults`'s; .ci/run
# runs both.
test: $(STAMP) chromium
	$(MAKE) --no-print-directory book
	$(PYTEST) -m "not processes" --nbval --nbval-current-env --nbval-executed _build/.jupyter_cache tests book

# The browser test alone, saving a full-page screenshot of every chapter page at both widths under
# _build/screenshots for review (make test takes none: no check reads them, they double its time).
screenshots: $(STAMP) chromium
	RESNET_ODE_SCREENSHOTS=1 $(PYTEST) tests/test_browser.py tests/test_browser_code.py

# nbval executing every committed notebook afresh (no book build), with every printed duration
# multiplied by 1000 (RESNET_ODE_DURATION_SCALE), so that a time that leaked into a compared
# output (or the width of a column) changes its digits and fails on any machine.
nbval: $(STAMP)
	RESNET_ODE_DURATION_SCALE=1000 $(PYTEST) \
		--nbval --nbval-current-env --nbval-cell-timeout 3600 book

# The package's fast tests, without building the book, nbval or the browser: derivative checks,
# unit tests and the fault-injection tests that run in the test's own process (32-41 s on 2 cores, 2026-12-08).
# Left to `make test`: tests marked slow (seconds of computing each: end to end over a chapter page
# with the book's runs, a whole study or convergence study). Left to `make faults`: tests marked
# processes (they start real commands, notebook kernels, worker pools or a Dask cluster).
unit: $(STAMP)
	$(PYTEST) -m "not slow and not processes" tests --ignore=tests/test_browser.py \
		--ignore=tests/test_browser_code.py

faults: $(STAMP)
	$(PYTEST) -m "processes" tests

clean:
	rm -rf _build
