"""Executing notebooks: papermill runs of the template and in-place execution.

Executed notebooks are written atomically (to a temporary file, then renamed),
so an interrupted execution leaves the previous file untouched. Volatile
metadata (timestamps, durations) and progress-bar output are removed so that
re-executing an unchanged notebook reproduces the same file.
"""

from __future__ import annotations

import os
import re
from concurrent.futures import ProcessPoolExecutor, as_completed
from pathlib import Path

import nbformat

from . import progress
from .experiments import notebook_parameters
from .paths import repo_root
from .storage import atomic_path

_PROGRESS_RE = re.compile(r"\r|\x1b\[|\d+it/s|s/it\]|\|\s*\d+/\d+ \[")


def clean_notebook(nb):
    """Drop timestamps, durations and progress-bar stderr from an executed notebook (in place)."""
    nb.metadata.pop("papermill", None)
    nb.metadata.pop("widgets", None)
    for cell in nb.cells:
        if "injected-parameters" in cell.metadata.get("tags", []):
            cell["id"] = "injected-parameters"  # papermill draws a random id each time
        cell.metadata.pop("papermill", None)
        cell.metadata.pop("execution", None)
        if cell.cell_type != "code":
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


def execute_template(template, output, parameters: dict, workers: int | None = None):
    """Execute ``template`` with ``parameters`` by papermill into ``output`` (atomically).

    ``workers`` sets ``RESNET_ODE_WORKERS`` for the kernel (processes per run).
    """
    import papermill

    template, output = Path(template), Path(output)
    if workers is not None:
        os.environ["RESNET_ODE_WORKERS"] = str(workers)
    with atomic_path(output) as tmp:
        tmp_nb = tmp.with_suffix(".ipynb")
        try:
            papermill.execute_notebook(
                str(template), str(tmp_nb), parameters=parameters, cwd=str(output.parent),
                kernel_name="python3", progress_bar=False, log_output=False,
            )
            nb = clean_notebook(nbformat.read(tmp_nb, as_version=4))
            nbformat.write(nb, tmp)
        finally:
            tmp_nb.unlink(missing_ok=True)
    return output


def execute_in_place(path, timeout: int = 3600):
    """Execute a notebook in its own folder and save it (atomically) with its outputs."""
    from nbclient import NotebookClient

    path = Path(path)
    nb = nbformat.read(path, as_version=4)
    NotebookClient(nb, timeout=timeout, kernel_name="python3",
                   resources={"metadata": {"path": str(path.parent)}}).execute()
    clean_notebook(nb)
    with atomic_path(path) as tmp:
        nbformat.write(nb, tmp)
    return path


def run_sweep(sweep, configs=None, jobs: int = 2):
    """Execute runs of a chapter sweep with papermill (see :func:`run_sweeps`).

    Parameters
    ----------
    sweep : resnet_ode.experiments.ChapterSweep
    configs : sequence of RunConfig, optional
        The runs; default: those of the chapter notebook's current parameters.
    jobs : int
        Runs executed in parallel.

    Returns
    -------
    list of Path
        Executed notebooks, in the order of ``configs``.
    """
    return run_sweeps([(sweep, configs)], jobs)


def run_sweeps(pairs, jobs: int = 2):
    """Execute the run pages of several chapters in one pool, ``jobs`` at a time, with one progress bar.

    Parameters
    ----------
    pairs : sequence of (ChapterSweep, configs or None)
        ``None`` takes the chapter notebook's current parameters.
    jobs : int
        Runs executed in parallel; each gets ``max(1, cores // jobs)`` worker
        processes.

    Returns
    -------
    list of Path
        Executed notebooks, chapter by chapter in the order of their configs.
    """
    root = repo_root()
    tasks, costs = [], []
    for sweep, configs in pairs:
        template = root / sweep.template
        for c in (sweep.configs() if configs is None else configs):
            tasks.append((template, root / sweep.output_path(c), run_parameters(c, template)))
            costs.append((c.nY - 1) * (4 if c.integrator.startswith("rk4") else 1) * c.max_iter)
    # Longest runs first so that parallel jobs finish together.
    order = sorted(range(len(tasks)), key=lambda i: -costs[i])
    workers = max(1, (os.cpu_count() or 2) // max(1, jobs))
    names = "+".join(sweep.name for sweep, _ in pairs)
    with progress.bar(len(tasks), f"sweep {names}") as bar:
        if jobs <= 1:
            for i in order:
                execute_template(*tasks[i], workers=workers)
                bar.update(1)
        else:
            with ProcessPoolExecutor(max_workers=jobs) as pool:
                futures = [pool.submit(execute_template, *tasks[i], workers=workers) for i in order]
                for fut in as_completed(futures):
                    fut.result()
                    bar.update(1)
    return [t[1] for t in tasks]


def execute_chapter(notebook, parameters: dict, timeout: int = 3600):
    """Execute a chapter notebook in place with papermill, injecting ``parameters``.

    Parameters equal to the notebook's defaults are not injected, and an
    injected cell from an earlier rerun is dropped first, so rerunning with
    the defaults restores the original notebook.
    """
    import papermill

    notebook = Path(notebook)
    nb = nbformat.read(notebook, as_version=4)
    nb.cells = [c for c in nb.cells if "injected-parameters" not in c.metadata.get("tags", [])]
    defaults = notebook_parameters(nb, tags=("parameters",))
    inject = {k: v for k, v in parameters.items() if k not in defaults or defaults[k] != v}
    with atomic_path(notebook) as tmp:
        src = tmp.with_suffix(".src.ipynb")
        out = tmp.with_suffix(".out.ipynb")
        try:
            nbformat.write(nb, src)
            papermill.execute_notebook(str(src), str(out), parameters=inject, cwd=str(notebook.parent),
                                       kernel_name="python3", progress_bar=False, execution_timeout=timeout)
            nbformat.write(clean_notebook(nbformat.read(out, as_version=4)), tmp)
        finally:
            src.unlink(missing_ok=True)
            out.unlink(missing_ok=True)
    return notebook


def update_toc(sweep, configs, toc_path=None):
    """List the run pages of ``configs`` under the sweep's chapter in ``_toc.yml``.

    Returns the pages the table of contents listed before under that chapter
    but no longer does (the caller may delete them).
    """
    import yaml

    toc_path = Path(toc_path or repo_root() / "_toc.yml")
    text = toc_path.read_text()
    header = "".join(line + "\n" for line in text.splitlines() if line.startswith("#"))
    toc = yaml.safe_load(text)
    chapter = sweep.notebook.rsplit(".", 1)[0]
    entry = _find_entry(toc, chapter)
    if entry is None:
        raise ValueError(f"{chapter} is not in {toc_path}")
    old = [s["file"] for s in entry.get("sections", [])]
    new = [{"file": sweep.output_path(c).rsplit(".", 1)[0], "title": sweep.page_title(c)} for c in configs]
    entry["sections"] = new
    with atomic_path(toc_path) as tmp:
        tmp.write_text(header + yaml.dump(toc, Dumper=_toc_dumper(), sort_keys=False, width=100))
    return [f for f in old if f not in {n["file"] for n in new}]


def _toc_dumper():
    import yaml

    class Dumper(yaml.SafeDumper):
        """Indents list items under their key, as the committed ``_toc.yml`` is written."""

        def increase_indent(self, flow=False, indentless=False):
            return super().increase_indent(flow, False)

    return Dumper



def _find_entry(node, file):
    if isinstance(node, dict):
        if node.get("file") == file:
            return node
        node = list(node.values())
    if isinstance(node, list):
        for item in node:
            found = _find_entry(item, file)
            if found is not None:
                return found
    return None
