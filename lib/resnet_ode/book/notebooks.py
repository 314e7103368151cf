"""Executing notebooks: papermill runs of the template and in-place execution.

Executed notebooks are written atomically (to a temporary file in the
command's scratch folder, then renamed), so an interrupted execution leaves
the previous file untouched; :mod:`resnet_ode.book.processes` holds the
scratch files, the kernels and workers and how an interrupt ends them.
Volatile metadata (timestamps, durations) and progress-bar output are removed
so that re-executing an unchanged notebook reproduces the same file.
"""

from __future__ import annotations

import os
import re
from pathlib import Path

import nbformat

from resnet_ode.book.experiments import notebook_parameters
from resnet_ode.book.processes import (
    in_thread,
    kernel_manager_class,
    publish,
    scratch_path,
)
from resnet_ode.util.paths import repo_root

_PROGRESS_RE = re.compile(r"\r|\x1b\[|\d+it/s|s/it\]|\|\s*\d+/\d+ \[")


#: Tag of cells whose outputs depend on the machine (wall-clock times). Their outputs are shown
#: in the built book, never committed, never compared.
VOLATILE = "volatile"

#: nbval's tag for a cell that is executed but whose outputs are not compared.
NBVAL_IGNORE = "nbval-ignore-output"


def clean_notebook(nb):
    """Make an executed notebook reproducible byte for byte (in place).

    Drops timestamps, durations (papermill and nbclient metadata),
    progress-bar stderr and the outputs of cells tagged :data:`VOLATILE`
    (which also get nbval's :data:`NBVAL_IGNORE` tag, so that nbval executes
    them without comparing what they print); removes empty ``tags`` lists
    that papermill adds; gives papermill's injected cell a fixed id.
    Re-executing an unchanged notebook and cleaning it reproduces the same
    file.
    """
    nb.metadata.pop("papermill", None)
    nb.metadata.pop("widgets", None)
    for cell in nb.cells:
        tags = list(cell.metadata.get("tags", []))
        if "injected-parameters" in tags:
            cell["id"] = "injected-parameters"  # papermill draws a random id each time
        if VOLATILE in tags and NBVAL_IGNORE not in tags:
            tags.append(NBVAL_IGNORE)
        if tags:
            cell.metadata["tags"] = tags
        else:
            cell.metadata.pop("tags", None)
        cell.metadata.pop("papermill", None)
        cell.metadata.pop("execution", None)
        if cell.cell_type != "code":
            continue
        if VOLATILE in tags:
            cell["outputs"] = []  # executed (its execution count stays), outputs not kept
            continue
        kept = []
        for out in cell.get("outputs", []):
            if out.get("output_type") == "stream" and out.get("name") == "stderr":
                text = out.get("text", "")
                if not text.strip() or _PROGRESS_RE.search(text):
                    continue
            kept.append(out)
        cell["outputs"] = kept
    return nb


def run_parameters(config, template: Path) -> dict:
    """Parameters to inject so that the template reproduces ``config``.

    Only values that differ from the template's defaults are injected, so the
    injected cell of each page lists exactly what is special about the run.
    Settings the template does not expose go into its ``options`` dict.
    """
    defaults = notebook_parameters(nbformat.read(template, as_version=4), tags=("parameters",))
    params, options = {}, {}
    for key, value in config.to_dict().items():
        if key in defaults:
            if value != defaults[key] or type(value) is not type(defaults[key]):
                params[key] = value
        else:
            options[key] = value
    base = type(config)().to_dict()
    options = {k: v for k, v in options.items() if base.get(k) != v}
    if options:
        params["options"] = options
    return params


def execute_template(template, output, parameters: dict, workers: int | None = None, title: str | None = None):
    """Execute ``template`` with ``parameters`` by papermill into ``output`` (atomically).

    The kernel runs in ``output``'s folder; ``workers`` sets
    ``RESNET_ODE_WORKERS`` for it (processes per run); ``title``, if given,
    becomes the page's heading (:func:`set_title`). The notebook is executed
    by :func:`execute_notebook`, cleaned (:func:`clean_notebook`) and written
    by :func:`write_notebook`.

    Returns
    -------
    Path
        ``output``.
    """
    template, output = Path(template), Path(output)
    if workers is not None:
        os.environ["RESNET_ODE_WORKERS"] = str(workers)
    output.parent.mkdir(parents=True, exist_ok=True)  # the kernel's working folder
    with scratch_path(output.stem) as folder:
        nb = clean_notebook(execute_notebook(template, folder / output.name, parameters, cwd=output.parent))
        if title is not None:
            set_title(nb, title)
        write_notebook(nb, output, folder)
    return output


def execute_notebook(source, scratch, parameters: dict | None = None, cwd=None, timeout: int | None = None,
                     kernel_manager=None):
    """Execute a notebook and return it as executed: the one execution of every path.

    Run pages (:func:`execute_template` here,
    :func:`resnet_ode.book.pagetasks.page_task` on a Dask worker), a chapter
    rerun (:func:`execute_chapter`), a page executed in place
    (:func:`execute_in_place`) and the book's notebooks for Jupyter Book
    (:func:`resnet_ode.book.bookcache.execute_into_book_cache`) all execute
    through it: papermill (over nbclient), from a helper thread so that
    Ctrl-C reaches the command (:func:`resnet_ode.book.processes.in_thread`),
    with kernels the command can kill. The result is not cleaned: the run
    pages and the committed notebooks go through :func:`clean_notebook`, the
    book renders what was executed (the outputs of ``volatile`` cells too).

    Parameters
    ----------
    source : str, Path or nbformat.NotebookNode
        The notebook (a notebook object is written next to ``scratch`` first).
    scratch : str or Path
        The file papermill writes the notebook to after every cell (in a
        scratch folder, never the page itself).
    parameters : dict, optional
        Injected by papermill (none when empty or ``None``: an injected cell
        already in ``source`` stays).
    cwd : str or Path, optional
        The kernel's working folder, set by papermill (it changes this
        process's working folder while the notebook executes); ``None``
        leaves it to ``kernel_manager``.
    timeout : int, optional
        Seconds per cell (``None``: no limit).
    kernel_manager : type, optional
        A jupyter_client kernel manager class; default
        :func:`resnet_ode.book.processes.kernel_manager_class`.

    Returns
    -------
    nbformat.NotebookNode
        The executed notebook.

    Raises
    ------
    papermill.PapermillExecutionError
        When a cell raises (with the cell's traceback).
    """
    import papermill

    scratch = Path(scratch)
    if isinstance(source, nbformat.NotebookNode):
        path = scratch.with_name(f"source-{scratch.name}")
        nbformat.write(source, path)
        source = path
    in_thread(
        papermill.execute_notebook,
        str(source), str(scratch), parameters=parameters or {}, cwd=None if cwd is None else str(cwd),
        kernel_name="python3", progress_bar=False, log_output=False, execution_timeout=timeout,
        kernel_manager_class=kernel_manager or kernel_manager_class(),
    )
    return nbformat.read(scratch, as_version=4)


def write_notebook(nb, output, folder=None) -> Path:
    """Write the notebook ``nb`` to ``output`` atomically (written in a scratch folder, then renamed).

    Parameters
    ----------
    nb : nbformat.NotebookNode
    output : str or Path
        The page; its previous content stays until the rename.
    folder : Path, optional
        The scratch folder to write in (default: a fresh one of :func:`resnet_ode.book.processes.scratch_path`).

    Returns
    -------
    Path
        ``output``.
    """
    output = Path(output)
    if folder is None:
        with scratch_path(output.stem) as fresh:
            return write_notebook(nb, output, fresh)
    tmp = Path(folder) / output.name
    nbformat.write(nb, tmp)
    publish(tmp, output)
    return output


def shown_path(path) -> str:
    """``path`` relative to the repository root when it lies inside it, else as given (for messages)."""
    path, root = Path(path), repo_root()
    return str(path.relative_to(root)) if path.is_relative_to(root) else str(path)


def set_title(nb, title: str):
    """Make ``# title`` the heading of the notebook's first Markdown cell (the page's title in the book).

    The first line of that cell is replaced if it is a level-1 heading, else
    the heading is put in front of it. Returns ``nb``.
    """
    title = str(title).strip()
    if not title or "\n" in title:
        raise ValueError(f"title must be one non-empty line, got {title!r}")
    cell = next((c for c in nb.cells if c.cell_type == "markdown"), None)
    if cell is None:
        nb.cells.insert(0, nbformat.v4.new_markdown_cell(f"# {title}"))
        return nb
    first, _, rest = cell.source.partition("\n")
    cell.source = f"# {title}\n{rest}" if first.startswith("# ") else f"# {title}\n\n{cell.source}"
    return nb


def execute_in_place(path, timeout: int = 3600):
    """Execute a notebook in its own folder (:func:`execute_notebook`) and save it cleaned, atomically, with its outputs."""
    path = Path(path)
    with scratch_path(path.stem) as folder:
        nb = clean_notebook(execute_notebook(path, folder / path.name, cwd=path.parent, timeout=timeout))
        write_notebook(nb, path, folder)
    return path


def execute_chapter(notebook, parameters: dict, timeout: int = 3600):
    """Execute a chapter notebook in place (:func:`execute_notebook`), injecting ``parameters``.

    Parameters equal to the notebook's defaults are not injected, and an
    injected cell from an earlier rerun is dropped first, so rerunning with
    the defaults restores the original notebook.
    """
    notebook = Path(notebook)
    nb = nbformat.read(notebook, as_version=4)
    nb.cells = [c for c in nb.cells if "injected-parameters" not in c.metadata.get("tags", [])]
    defaults = notebook_parameters(nb, tags=("parameters",))
    inject = {k: v for k, v in parameters.items() if k not in defaults or defaults[k] != v}
    with scratch_path(notebook.stem) as folder:
        done = execute_notebook(nb, folder / notebook.name, inject, cwd=notebook.parent, timeout=timeout)
        write_notebook(clean_notebook(done), notebook, folder)
    return notebook
