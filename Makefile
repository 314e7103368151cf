# Two entry points, each doing all set-up on a fresh machine with Python 3.11:
#   make book   - create .venv with the pinned packages, run the experiments, build the HTML book
#   make test   - same set-up, then unit tests and nbval over every committed notebook
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

# One BLAS/OpenMP thread: printed numbers repeat exactly. The library uses
# both cores through its own worker processes instead.
export OMP_NUM_THREADS := 1
export OPENBLAS_NUM_THREADS := 1
export MKL_NUM_THREADS := 1
export PYDEVD_DISABLE_FILE_VALIDATION := 1

.PHONY: book test venv sweep html clean

venv: $(STAMP)

$(STAMP): requirements.txt pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade "pip>=24"
	$(BIN)/python -m pip install --quiet -r requirements.txt
	$(BIN)/python -m pip install --quiet --no-deps --no-build-isolation -e .
	touch $@

sweep: $(STAMP)
	$(BIN)/resnet-ode sweep 3.1

html: $(STAMP)
	$(BIN)/jupyter-book build --all -W -n --keep-going .

book: $(STAMP)
	@start=$$(date +%s); \
	$(MAKE) --no-print-directory sweep && $(MAKE) --no-print-directory html && \
	echo "Built in $$(( $$(date +%s) - start )) s. Open $(CURDIR)/_build/html/index.html"

test: $(STAMP)
	$(BIN)/python -m pytest -n 2 --dist loadfile --nbval --nbval-current-env \
		--nbval-sanitize-with tests/nbval-sanitize.cfg --nbval-cell-timeout 3600 tests book

clean:
	rm -rf _build
