"""pytest settings for the unit tests and the notebook checks (nbval) alike.

Progress bars write to stderr and carry timings: they are switched off for
the kernels pytest starts, and stderr outputs are not compared. Every other
output is compared exactly, with no sanitiser, except those of cells tagged
``volatile`` (wall-clock times), which carry nbval's ``nbval-ignore-output``
tag (see ``resnet_ode.book.notebooks.clean_notebook``).

``--nbval-executed CACHE`` (``make test``) compares each notebook with the
outputs of its last ``resnet-ode execute-book`` run, kept in the Jupyter Book
cache ``CACHE`` (``resnet_ode.book.bookcache.executed_copy``), instead of
executing it once more: the same items, options, tags and comparison as nbval
(its ``compare_outputs`` and ``coalesce_streams``); a notebook whose execution
is missing or older than its code, the package code or the environment fails
every cell, naming the command to run.
"""

import os

os.environ.setdefault("RESNET_ODE_PROGRESS", "0")
# The numeric code paths `make` pins (see the Makefile and resnet_ode.training.runs.numerics), for the
# kernels nbval starts also when pytest is called directly.
os.environ.setdefault("NPY_DISABLE_CPU_FEATURES", "X86_V4 AVX512_ICL AVX512_SPR")
os.environ.setdefault("OPENBLAS_CORETYPE", "Haswell")


def pytest_addoption(parser):
    parser.addoption("--nbval-executed", metavar="CACHE", default=None,
                     help="with --nbval: compare every notebook's outputs of its last `resnet-ode execute-book` "
                          "(in the Jupyter Book cache CACHE) instead of executing it again")


def pytest_collectstart(collector):
    if collector.fspath and collector.fspath.ext == ".ipynb":
        collector.skip_compare += ("stderr",)
        cache = collector.config.getoption("nbval_executed", None)
        if cache:
            collector.__class__ = _executed_classes()[0]
            collector.executed_cache = cache


_CLASSES = []


def _executed_classes():
    """nbval's notebook and cell items, with the outputs taken from the executed copy instead of a kernel."""
    if _CLASSES:
        return _CLASSES
    import copy

    import nbformat
    import pytest
    from nbval.plugin import IPyNbCell, IPyNbFile, coalesce_streams

    class ExecutedNbFile(IPyNbFile):
        def setup(self):
            from resnet_ode.book.bookcache import executed_copy

            self.executed, self.executed_reason = executed_copy(str(self.fspath), self.executed_cache)
            self.setup_sanitize_files()

        def collect(self):
            for item in super().collect():
                item.__class__ = ExecutedNbCell
                yield item

    class ExecutedNbCell(IPyNbCell):
        def runtest(self):
            # As nbval.plugin.IPyNbCell.runtest, with the outputs of the executed copy for the kernel's.
            if self.options["skip"]:
                pytest.skip()
            executed = self.parent.executed
            if executed is None:
                self.raise_cell_error(self.parent.executed_reason)
            code = [c for c in executed.cells if c.cell_type == "code"]
            if self.cell_num >= len(code) or code[self.cell_num].source != self.cell.source:
                self.raise_cell_error("the executed copy does not hold this cell: run `resnet-ode execute-book`")
            outs = [nbformat.from_dict(copy.deepcopy(dict(out))) for out in code[self.cell_num].outputs]
            self.test_outputs = outs
            for out in outs:
                if out.output_type == "error" and not self.options["check_exception"]:
                    self.raise_cell_error("Cell execution caused an exception", "\n" + "\n".join(out.traceback))
            outs[:] = coalesce_streams(outs)
            unrun = self.cell.execution_count is None
            if unrun and self.cell.outputs:
                self.raise_cell_error("Unrun reference cell has outputs")
            if self.options["check"] and not unrun:
                if not self.compare_outputs(outs, coalesce_streams(self.cell.outputs)):
                    self.raise_cell_error("Cell outputs differ", "\n".join(self.comparison_traceback))

    _CLASSES.extend([ExecutedNbFile, ExecutedNbCell])
    return _CLASSES
